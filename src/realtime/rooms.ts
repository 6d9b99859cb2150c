import type { Config } from '../config';
import type { Limiters } from '../lib/limiters';
import { ChatError } from '../services/errors';
import { createRoomPayload, joinRoomPayload, roomListPayload } from '../services/schemas';
import { roomChannel, type ChatSocket } from './channels';
import { consume } from './handler';
import type { HandlerContext } from './index';

/** room:list, room:create and room:join; leaving a room when joining another or disconnecting. */
export function roomHandlers(socket: ChatSocket, { io, chat, presence, limiters, maxRooms, on }: HandlerContext) {
  const leaveCurrentRoom = () => {
    const previous = socket.data.roomId;
    if (!previous) return;
    socket.leave(roomChannel(previous));
    socket.data.roomId = null;
    presence.leave(previous, socket.data.user);
  };

  on('room:list', roomListPayload, async (page) => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    return chat.listRooms(page?.after, page?.limit);
  });

  on('room:create', createRoomPayload, async ({ name }) => {
    await consume(limiters.create, socket.data.user.id, 'Too many new rooms, wait a minute');
    await consume(limiters.createAll, 'all', 'Too many new rooms on this server right now, try again in a minute');
    if ((await chat.countRooms()) >= maxRooms) throw new ChatError('TOO_MANY_ROOMS', `This server has its ${maxRooms} rooms: no more can be created`);
    const room = await chat.createRoom(name);
    io.emit('room:created', room);
    return { room };
  });

  let joins = 0;
  on('room:join', joinRoomPayload, async ({ roomId, afterSeq }) => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    const join = ++joins;
    const { audience: _audience, ...opened } = await chat.openRoom(socket.data.user, roomId, afterSeq);
    // A later join overtook this one while the room loaded: the socket belongs there.
    if (join !== joins) throw new ChatError('INVALID_PAYLOAD', 'Superseded by a later room:join');
    // Gone while the room loaded: entering now would leave a ghost in the room's presence.
    if (socket.disconnected) throw new ChatError('INVALID_PAYLOAD', 'Disconnected');
    // Joining the room you are in changes nobody's presence.
    if (socket.data.roomId !== roomId) {
      leaveCurrentRoom();
      socket.join(roomChannel(roomId));
      socket.data.roomId = roomId;
      presence.enter(roomId, socket.data.user);
    }
    // This replica's view: never waits for the others (their people arrive as deltas).
    return { ...opened, presence: presence.snapshot(roomId, socket.data.user) };
  });

  socket.on('disconnect', leaveCurrentRoom);
}

/** Per person (and for room creation also in total), across replicas when they share a Redis. */
export const roomLimiters = (limiters: Limiters, rates: Config['rateLimits']) => ({
  create: limiters.create('room-create', rates.roomsPerMinute, 60),
  createAll: limiters.create('room-create-all', rates.roomsPerMinuteInTotal, 60),
  // Joins and pages cost database reads.
  read: limiters.create('read', 60, 10),
  openDirect: limiters.create('dm-open', rates.directPerMinute, 60),
  edit: limiters.create('edit', rates.editsPerMinute, 60),
  react: limiters.create('react', rates.reactionsPer10s, 10),
  // Clients mark at most about once a second per tab.
  markRead: limiters.create('read-mark', 30, 10),
});
