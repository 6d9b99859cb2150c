import { LIMITS } from '../shared/protocol';
import type { ChangeResult } from '../services/changes';
import { changesPayload, deletePayload, editPayload, reactPayload } from '../services/schemas';
import { roomChannel, type ChatSocket } from './channels';
import { consume } from './handler';
import type { HandlerContext } from './index';

/**
 * message:edit, message:delete, message:react and message:changes. A change reaches the
 * room's channel (only people who may read the room are in it) as the whole message with its
 * new `rev`, after the ack; its rev is announced like a head for clients to catch up.
 */
export function changeHandlers(socket: ChatSocket, { io, chat, heads, limiters, notifyMentions, on }: HandlerContext) {
  const announce = ({ message, changed, audience, newlyMentioned }: ChangeResult, afterAck: (work: () => void) => void) => {
    if (!changed) return { message };
    heads.changed(message.roomId, message.rev, audience);
    afterAck(() => {
      io.to(roomChannel(message.roomId)).emit('message:changed', message);
      if (newlyMentioned.length > 0) void notifyMentions(message, newlyMentioned);
    });
    return { message };
  };

  on('message:edit', editPayload, async ({ roomId, messageId, text }, afterAck) => {
    await consume(limiters.edit, socket.data.user.id, 'You are changing messages too fast, slow down');
    return announce(await chat.editMessage(socket.data.user, roomId, messageId, text), afterAck);
  });

  on('message:delete', deletePayload, async ({ roomId, messageId }, afterAck) => {
    await consume(limiters.edit, socket.data.user.id, 'You are changing messages too fast, slow down');
    return announce(await chat.deleteMessage(socket.data.user, roomId, messageId), afterAck);
  });

  on('message:react', reactPayload, async ({ roomId, messageId, emoji, on: add }, afterAck) => {
    await consume(limiters.react, socket.data.user.id, 'You are reacting too fast, slow down');
    return announce(await chat.react(socket.data.user, roomId, messageId, emoji, add), afterAck);
  });

  on('message:changes', changesPayload, async ({ roomId, fromRev, limit }) => {
    await consume(limiters.read, socket.data.user.id, 'Too many requests, slow down');
    return chat.changesSince(socket.data.user, roomId, fromRev, limit ?? LIMITS.historyMaxPageSize);
  });
}
