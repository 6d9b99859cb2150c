import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { DEFAULT_ROOM, LIMITS, type HistoryPage, type MessageDTO, type RoomDTO, type SincePage, type UserDTO } from '../shared/protocol';
import { DuplicateNameError, type MentionRecord, type RoomRecord, type Store } from '../store/types';
import { createMessageChanges } from './changes';
import type { Audience, ChatContext } from './context';
import { createDirectConversations } from './direct';
import { ChatError } from './errors';
import { findMentions } from './mentions';
import { createMessageWriter } from './message-writer';
import { createReadPositions } from './reads';
import { firstIssue, roomName } from './schemas';
import { cleanMessageText } from './text';
import { createViews } from './views';

/**
 * The chat's rules, independent of HTTP and sockets: both call these and
 * only translate the results and ChatErrors to their transport.
 */
export type ChatService = ReturnType<typeof createChatService>;

export interface ChatOptions {
  /** How long after sending people may edit or delete a message; 0: never. */
  editWindowMs: number;
}

export function createChatService(store: Store, options: ChatOptions = { editWindowMs: 15 * 60_000 }) {
  const writer = createMessageWriter(store);
  const views = createViews(store);
  /** Rooms never change but for their heads (taken from the messages read with them): read once. */
  const rooms = new LRUCache<string, RoomRecord>({ max: 10_000 });

  /**
   * The room, if `viewerId` may read it: any public room, or a direct conversation of theirs.
   * Someone else's direct conversation does not exist for them (same error as an unknown id).
   */
  const requireRoom = async (roomId: string, viewerId: string): Promise<RoomRecord> => {
    let room = rooms.get(roomId);
    if (!room) {
      room = (await store.rooms.findById(roomId)) ?? undefined;
      if (room) rooms.set(roomId, room);
    }
    if (!room || (room.kind === 'direct' && !room.members.includes(viewerId))) {
      throw new ChatError('ROOM_NOT_FOUND', 'This room does not exist');
    }
    return room;
  };
  const audienceOf = (room: RoomRecord): Audience => (room.kind === 'direct' ? room.members : null);

  /** The room with the newest head known: the cached record's, or that of the messages just read. */
  const withHead = async (room: RoomRecord, messages: readonly { seq: number; rev: number }[], viewerId: string): Promise<RoomDTO> => {
    const headSeq = Math.max(room.headSeq, ...messages.map((m) => m.seq));
    const headRev = Math.max(room.headRev, ...messages.map((m) => m.rev));
    const newest = { ...room, headSeq, headRev };
    if (headSeq > room.headSeq || headRev > room.headRev) rooms.set(room.id, newest);
    return views.toRoom(newest, viewerId);
  };

  /** Loads one page, newest message last, with the cursor of the page before it. */
  const historyPage = async (roomId: string, limit: number, beforeSeq?: number): Promise<HistoryPage> => {
    const records = await store.messages.page(roomId, { limit: limit + 1, beforeSeq });
    const hasMore = records.length > limit;
    const page = records.slice(0, limit);
    const oldest = page.at(-1);
    return {
      messages: (await views.toMessages(page)).reverse(),
      nextCursor: hasMore && oldest ? encodeCursor(oldest) : null,
    };
  };

  /** Oldest first, the messages with a seq above `afterSeq`: the catch-up read. */
  const since = async (room: RoomRecord, afterSeq: number, limit: number): Promise<SincePage> => {
    const records = await store.messages.since(room.id, { afterSeq, limit });
    return { roomId: room.id, messages: await views.toMessages(records), complete: records.length < limit };
  };

  const mentionsIn = (text: string, room: RoomRecord): Promise<MentionRecord[]> => findMentions(store, text, room);
  const context: ChatContext = { store, views, requireRoom, audienceOf, mentionsIn };

  return {
    toUser: views.toUser,
    userChanged: views.userChanged,
    requireRoom,
    ...createDirectConversations(context),
    ...createMessageChanges(context, options),
    ...createReadPositions(context),

    async findUser(id: string): Promise<UserDTO | null> {
      const user = await store.users.findById(id);
      return user && views.toUser(user);
    },

    async defaultRoom(): Promise<RoomDTO> {
      const room = await store.rooms.ensure(DEFAULT_ROOM);
      return views.toRoom(room, '');
    },

    /** A page of public rooms, oldest first; `nextCursor` continues after its last one. */
    async listRooms(after?: string, limit: number = LIMITS.roomPageSize): Promise<{ rooms: RoomDTO[]; nextCursor: string | null }> {
      const records = await store.rooms.list({ limit: limit + 1, after: after === undefined ? undefined : decodeRoomCursor(after) });
      const page = records.slice(0, limit);
      const last = page.at(-1);
      return { rooms: await views.toRooms(page, ''), nextCursor: records.length > limit && last ? encodeRoomCursor(last) : null };
    },

    countRooms: () => store.rooms.count(),

    async createRoom(rawName: unknown): Promise<RoomDTO> {
      const parsed = roomName.safeParse(rawName);
      if (!parsed.success) throw new ChatError('INVALID_ROOM_NAME', firstIssue(parsed.error));
      try {
        return await views.toRoom(await store.rooms.create(parsed.data), '');
      } catch (error) {
        if (error instanceof DuplicateNameError) {
          throw new ChatError('ROOM_NAME_TAKEN', `A room named "${parsed.data}" already exists`);
        }
        throw error;
      }
    },

    /**
     * The room and either its latest page or, with `afterSeq`, what came after it (a client
     * coming back catches up instead of reloading). `caughtUp` is false when more follow.
     */
    async openRoom(viewer: UserDTO, roomId: string, afterSeq?: number): Promise<{ room: RoomDTO; caughtUp: boolean; audience: Audience } & HistoryPage> {
      const room = await requireRoom(roomId, viewer.id);
      if (afterSeq === undefined) {
        const page = await historyPage(room.id, LIMITS.historyPageSize);
        return { room: await withHead(room, page.messages, viewer.id), caughtUp: true, audience: audienceOf(room), ...page };
      }
      const page = await since(room, afterSeq, LIMITS.historyMaxPageSize);
      return { room: await withHead(room, page.messages, viewer.id), messages: page.messages, nextCursor: null, caughtUp: page.complete, audience: audienceOf(room) };
    },

    async olderMessages(viewer: UserDTO, roomId: string, cursor: string, limit: number = LIMITS.historyPageSize): Promise<HistoryPage> {
      const beforeSeq = decodeCursor(cursor);
      await requireRoom(roomId, viewer.id);
      return historyPage(roomId, limit, beforeSeq);
    },

    async messagesSince(viewer: UserDTO, roomId: string, afterSeq: number, limit: number): Promise<SincePage> {
      return since(await requireRoom(roomId, viewer.id), afterSeq, limit);
    },

    /**
     * Stores a message with the room's next seq. The author is the signed-in person the
     * socket already knows, and the room was checked when the socket joined it (and is
     * cached since): a send costs the store one counter step and one insert, shared by sends
     * that arrive together, plus one read of people when the text has an `@`. `created` is
     * false for a resent clientId: the stored message is returned.
     */
    async sendMessage(
      author: UserDTO,
      roomId: string,
      rawText: string,
      { clientId, resend = false }: { clientId?: string | undefined; resend?: boolean | undefined } = {},
    ): Promise<{ message: MessageDTO; created: boolean; audience: Audience }> {
      const text = cleanMessageText(rawText);
      if ([...text].length > LIMITS.messageMaxLength) {
        throw new ChatError('MESSAGE_TOO_LONG', `A message has at most ${LIMITS.messageMaxLength} characters`);
      }
      const room = await requireRoom(roomId, author.id);
      const mentions = await mentionsIn(text, room);
      const appended = await writer.append(roomId, {
        authorId: author.id,
        text,
        clientId: clientId ?? randomUUID(),
        resend: resend && clientId !== undefined,
        mentions,
      });
      if (!appended) throw new ChatError('ROOM_NOT_FOUND', 'This room does not exist');
      const { record, created } = appended;
      if (record.roomId !== roomId) {
        throw new ChatError('INVALID_PAYLOAD', 'clientId: already used for a message in another room');
      }
      return { message: await views.toMessage(record, author), created, audience: audienceOf(room) };
    },

    async setAvatar(userId: string, file: string): Promise<{ user: UserDTO; previous: string | null }> {
      const result = await store.users.setAvatar(userId, file);
      if (!result) throw new ChatError('UNAUTHORIZED', 'Sign in again');
      return { user: views.toUser(result.user), previous: result.previous };
    },
  };
}

/** Cursors are opaque to clients: base64url of "seq:<the oldest seq shown>". */
export function encodeCursor(message: { seq: number }): string {
  return Buffer.from(`seq:${message.seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  const match = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ChatError('INVALID_PAYLOAD', 'before: not a cursor this server gave out');
  return Number(match[1]);
}

/** Room-list cursors, opaque to clients: base64url of "<createdAt ms>.<id>" of the last room shown. */
function encodeRoomCursor(room: { createdAt: Date; id: string }): string {
  return Buffer.from(`${room.createdAt.getTime()}.${room.id}`).toString('base64url');
}

function decodeRoomCursor(cursor: string): { createdAt: Date; id: string } {
  const match = /^(\d{1,15})\.([a-f0-9]{24})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ChatError('INVALID_PAYLOAD', 'after: not a cursor this server gave out');
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}
