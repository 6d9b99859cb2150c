import { noPayload, openDirectPayload } from '../services/schemas';
import { personChannel, type ChatSocket } from './channels';
import { consume } from './handler';
import type { HandlerContext } from './index';

/** dm:open and dm:list: a new conversation is announced to its two people only. */
export function directHandlers(socket: ChatSocket, { io, chat, limiters, on }: HandlerContext) {
  on('dm:open', openDirectPayload, async ({ userId }, afterAck) => {
    await consume(limiters.openDirect, socket.data.user.id, 'You are starting conversations too fast, wait a minute');
    const { room, created, forPeer } = await chat.openDirect(socket.data.user, userId);
    if (created) {
      afterAck(() => {
        io.to(personChannel(userId)).emit('dm:opened', forPeer);
        socket.to(personChannel(socket.data.user.id)).emit('dm:opened', room);
      });
    }
    return { room };
  });

  on('dm:list', noPayload, async () => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    return { rooms: await chat.listDirect(socket.data.user) };
  });
}
