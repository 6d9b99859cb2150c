import { markReadPayload, noPayload } from '../services/schemas';
import { personChannel, type ChatSocket } from './channels';
import { consume } from './handler';
import type { HandlerContext } from './index';

/** read:mark and read:list: a position moved in one tab reaches every tab of the person. */
export function readHandlers(socket: ChatSocket, { io, chat, limiters, on }: HandlerContext) {
  on('read:mark', markReadPayload, async ({ roomId, seq }, afterAck) => {
    await consume(limiters.markRead, socket.data.user.id, 'Too many read markers, slow down');
    const read = await chat.markRead(socket.data.user, roomId, seq);
    afterAck(() => io.to(personChannel(socket.data.user.id)).emit('read:updated', read));
    return { read };
  });

  on('read:list', noPayload, async () => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    return { reads: await chat.readPositions(socket.data.user) };
  });
}
