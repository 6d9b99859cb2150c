// The baseline of the chat-path benchmark: bare Socket.IO doing the same job with nothing
// else. `room:join {room}` puts a client in a room; `message:send` is acknowledged and
// broadcast to that room. Run as its own process: `node bench/bare-server.mjs`; prints
// its port on stdout.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { serveClient: false });
let seq = 0;
io.on('connection', (socket) => {
  let room = null;
  socket.on('room:join', (payload, ack) => {
    room = String(payload.room);
    socket.join(room);
    ack({ ok: true });
  });
  socket.on('message:send', (payload, ack) => {
    const message = { id: String(++seq), seq, roomId: room, text: payload.text, clientId: payload.clientId, createdAt: new Date().toISOString() };
    ack({ ok: true, message });
    io.to(room).emit('message', message);
  });
});
http.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: http.address().port })));
process.on('SIGTERM', () => process.exit(0));
