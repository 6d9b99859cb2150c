import { LIMITS, REACTIONS, type ChangesPage, type MessageDTO, type ReactionEmoji, type UserDTO } from '../shared/protocol';
import type { MessageChange, MessageRecord, RoomRecord } from '../store/types';
import type { Audience, ChatContext } from './context';
import { ChatError } from './errors';
import { cleanMessageText } from './text';

/** Attempts when others change the same message at the same moment. */
const CONFLICT_RETRIES = 5;

export interface ChangeResult {
  message: MessageDTO;
  /** False when the message already was that way: nothing was written or needs telling. */
  changed: boolean;
  audience: Audience;
  /** People an edit newly mentions (to tell them). */
  newlyMentioned: string[];
}

/**
 * Edits, deletes and reactions. Each one that changes a message takes the room's next change
 * number (`rev`), which clients use to keep the newest copy and to catch up on what they
 * missed (`changesSince`). A change is computed from the message as read and written only if
 * nobody changed it meanwhile; otherwise it is computed again from the new state.
 */
export function createMessageChanges({ store, views, requireRoom, audienceOf, mentionsIn }: ChatContext, { editWindowMs }: { editWindowMs: number }) {
  /** Refuses changes to others' messages and to messages past the edit window. */
  const requireOwnEditable = (message: MessageRecord, user: UserDTO) => {
    if (editWindowMs <= 0) throw new ChatError('EDITING_DISABLED', 'Editing and deleting messages is turned off on this server');
    if (message.authorId !== user.id) throw new ChatError('NOT_YOUR_MESSAGE', 'You can only change your own messages');
    if (Date.now() - message.createdAt.getTime() > editWindowMs) {
      throw new ChatError('EDIT_WINDOW_CLOSED', `Messages can be changed for ${Math.round(editWindowMs / 60_000)} minutes after sending`);
    }
  };

  /** Reads the message, asks `decide` what to change (null: nothing), writes it if still current. */
  const apply = async (
    room: RoomRecord,
    messageId: string,
    decide: (message: MessageRecord) => MessageChange | null,
  ): Promise<{ record: MessageRecord; changed: boolean; before: MessageRecord }> => {
    for (let attempt = 0; attempt < CONFLICT_RETRIES; attempt += 1) {
      const message = await store.messages.findById(room.id, messageId);
      if (!message) throw new ChatError('MESSAGE_NOT_FOUND', 'This message does not exist');
      const change = decide(message);
      if (!change) return { record: message, changed: false, before: message };
      const updated = await store.messages.change(room.id, messageId, message.rev, change);
      if (updated) return { record: updated, changed: true, before: message };
    }
    throw new ChatError('CONFLICT', 'This message was being changed by others at the same moment: try again');
  };

  const result = async (room: RoomRecord, outcome: { record: MessageRecord; changed: boolean }, newlyMentioned: string[] = []): Promise<ChangeResult> => ({
    message: await views.toMessage(outcome.record),
    changed: outcome.changed,
    audience: audienceOf(room),
    newlyMentioned,
  });

  return {
    async editMessage(user: UserDTO, roomId: string, messageId: string, rawText: string): Promise<ChangeResult> {
      const text = cleanMessageText(rawText);
      if ([...text].length > LIMITS.messageMaxLength) {
        throw new ChatError('MESSAGE_TOO_LONG', `A message has at most ${LIMITS.messageMaxLength} characters`);
      }
      const room = await requireRoom(roomId, user.id);
      const mentions = await mentionsIn(text, room);
      const outcome = await apply(room, messageId, (message) => {
        requireOwnEditable(message, user);
        if (message.deletedAt) throw new ChatError('MESSAGE_DELETED', 'This message was deleted');
        return message.text === text ? null : { text, mentions, editedAt: new Date() };
      });
      const before = new Set(outcome.before.mentions.map((m) => m.userId));
      const added = outcome.changed ? mentions.map((m) => m.userId).filter((id) => !before.has(id) && id !== user.id) : [];
      return result(room, outcome, added);
    },

    /** The message stays as a placeholder: its seq is kept, its text, mentions and reactions are gone. */
    async deleteMessage(user: UserDTO, roomId: string, messageId: string): Promise<ChangeResult> {
      const room = await requireRoom(roomId, user.id);
      const outcome = await apply(room, messageId, (message) => {
        if (message.deletedAt) return null;
        requireOwnEditable(message, user);
        return { text: '', mentions: [], reactions: [], deletedAt: new Date() };
      });
      return result(room, outcome);
    },

    /** Adds or removes the person's reaction; asking for what is already so changes nothing. */
    async react(user: UserDTO, roomId: string, messageId: string, rawEmoji: string, on: boolean): Promise<ChangeResult> {
      if (!(REACTIONS as readonly string[]).includes(rawEmoji)) throw new ChatError('INVALID_REACTION', `React with one of ${REACTIONS.join(' ')}`);
      const emoji = rawEmoji as ReactionEmoji;
      const room = await requireRoom(roomId, user.id);
      const outcome = await apply(room, messageId, (message) => {
        if (message.deletedAt) throw new ChatError('MESSAGE_DELETED', 'This message was deleted');
        const mine = (r: { emoji: string; userId: string }) => r.emoji === emoji && r.userId === user.id;
        if (message.reactions.some(mine) === on) return null;
        return { reactions: on ? [...message.reactions, { emoji, userId: user.id }] : message.reactions.filter((r) => !mine(r)) };
      });
      return result(room, outcome);
    },

    /** Catch-up of changes: the room's messages with `rev >= fromRev`, as they are now. */
    async changesSince(viewer: UserDTO, roomId: string, fromRev: number, limit: number): Promise<ChangesPage> {
      const room = await requireRoom(roomId, viewer.id);
      const records = await store.messages.changedSince(room.id, { fromRev, limit });
      return { roomId: room.id, messages: await views.toMessages(records), complete: records.length < limit };
    },
  };
}
