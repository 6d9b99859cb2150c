import { LIMITS } from '../shared/protocol';
import { ChatError } from '../services/errors';
import { historyPayload, sendMessagePayload, sincePayload } from '../services/schemas';
import { roomChannel, type ChatSocket } from './channels';
import { consume } from './handler';
import type { HandlerContext } from './index';

/** message:send, message:history and message:since. */
export function messageHandlers(socket: ChatSocket, { io, chat, heads, limiters, metrics, notifyMentions, on }: HandlerContext) {
  on('message:send', sendMessagePayload, async ({ roomId, text, clientId, resend }, afterAck) => {
    if (socket.data.roomId !== roomId) throw new ChatError('NOT_IN_ROOM', 'Join the room before sending to it');
    await consume(limiters.send, socket.data.user.id, 'You are sending too fast, slow down');
    const { message, created, audience } = await chat.sendMessage(socket.data.user, roomId, text, { clientId, resend });
    // A resend of a stored clientId gets the stored message back, and nobody sees it twice.
    if (created) {
      metrics.messagesSent.inc();
      heads.advanced(roomId, message.seq, audience);
      afterAck(() => {
        io.to(roomChannel(roomId)).emit('message', message);
        void notifyMentions(message, message.mentions.map((m) => m.id));
      });
    }
    return { message };
  });

  on('message:history', historyPayload, async ({ roomId, before, limit }) => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    return chat.olderMessages(socket.data.user, roomId, before, limit);
  });

  on('message:since', sincePayload, async ({ roomId, afterSeq, limit }) => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    return chat.messagesSince(socket.data.user, roomId, afterSeq, limit ?? LIMITS.historyMaxPageSize);
  });
}
