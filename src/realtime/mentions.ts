import type { MessageDTO } from '../shared/protocol';
import type { ChatService } from '../services/chat';
import type { Logger } from '../lib/logger';
import { personChannel, type ChatIO } from './channels';

const EXCERPT_LENGTH = 140;

/**
 * Tells each person a message newly mentions, in every tab and on every replica (their own
 * channel, also when they are in another room), and counts it in their read position so the
 * mention is still unread after a reload: counted first, so a tab that hears the notice and
 * asks `read:list` finds it. A cost per person mentioned, never per room member. Runs after the
 * sender's ack; a failed count is logged (the message itself is stored) and the notice still goes.
 */
export function createMentionNotices(io: ChatIO, chat: ChatService, logger: Logger) {
  return async (message: MessageDTO, userIds: readonly string[]) => {
    const others = userIds.filter((id) => id !== message.author.id);
    if (others.length === 0) return;
    try {
      await chat.mentioned(message.roomId, message.seq, others);
    } catch (error) {
      logger.warn({ err: error, roomId: message.roomId, seq: message.seq }, 'mention not counted in read positions');
    }
    try {
      const room = await chat.requireRoom(message.roomId, message.author.id);
      io.to(others.map(personChannel)).emit('mention', {
        roomId: message.roomId,
        roomName: room.kind === 'direct' ? message.author.name : room.name,
        seq: message.seq,
        messageId: message.id,
        author: message.author,
        excerpt: [...message.text].slice(0, EXCERPT_LENGTH).join(''),
      });
    } catch (error) {
      logger.warn({ err: error, roomId: message.roomId }, 'mention notice not sent');
    }
  };
}
