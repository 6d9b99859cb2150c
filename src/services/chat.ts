import { randomUUID } from 'node:crypto';
import {
  DEFAULT_ROOM,
  LIMITS,
  type HistoryPage,
  type MessageDTO,
  type RoomDTO,
  type SincePage,
  type UserDTO,
} from '../shared/protocol';
import {
  DuplicateNameError,
  type MessageRecord,
  type RoomRecord,
  type Store,
  type UserRecord,
} from '../store/types';
import { ChatError } from './errors';
import { LRUCache } from 'lru-cache';
import { createMessageWriter } from './message-writer';
import { firstIssue, roomName } from './schemas';
import { cleanMessageText } from './text';

/**
 * The chat's rules, independent of HTTP and sockets: both call these and
 * only translate the results and ChatErrors to their transport.
 */
export type ChatService = ReturnType<typeof createChatService>;

export function createChatService(store: Store) {
  const writer = createMessageWriter(store);
  /** Rooms never change but for their head (taken from the messages read with them): read once. */
  const rooms = new LRUCache<string, RoomRecord>({ max: 10_000 });
  /**
   * The authors shown beside messages. `userChanged` replaces one at once (the realtime layer
   * calls it for changes made on any replica); the minute bounds what a lost notice costs.
   */
  const authors = new LRUCache<string, UserDTO>({ max: 50_000, ttl: 60_000 });

  const toUser = (user: UserRecord): UserDTO => ({
    id: user.id,
    name: user.name,
    avatarUrl: user.avatar ? `/avatars/${user.avatar}` : null,
  });

  const toRoom = (room: RoomRecord): RoomDTO => ({
    id: room.id,
    name: room.name,
    createdAt: room.createdAt.toISOString(),
    headSeq: room.headSeq,
  });

  const toMessage = (m: MessageRecord, author: UserDTO): MessageDTO => ({
    id: m.id,
    roomId: m.roomId,
    seq: m.seq,
    author,
    text: m.text,
    createdAt: m.createdAt.toISOString(),
    clientId: m.clientId,
  });

  /** The authors of a page from the cache, and one read for those it lacks (never one per message). */
  const toMessages = async (records: MessageRecord[]): Promise<MessageDTO[]> => {
    const missing = [...new Set(records.map((m) => m.authorId))].filter((id) => !authors.has(id));
    if (missing.length > 0) for (const user of await store.users.findByIds(missing)) authors.set(user.id, toUser(user));
    return records.map((m) => toMessage(m, authors.get(m.authorId) ?? { id: m.authorId, name: 'Unknown', avatarUrl: null }));
  };

  const requireRoom = async (roomId: string): Promise<RoomRecord> => {
    const known = rooms.get(roomId);
    if (known) return known;
    const room = await store.rooms.findById(roomId);
    if (!room) throw new ChatError('ROOM_NOT_FOUND', 'This room does not exist');
    rooms.set(roomId, room);
    return room;
  };

  /** The room with the newest head known: the cached record's, or that of the messages just read. */
  const withHead = (room: RoomRecord, messages: readonly { seq: number }[]): RoomDTO => {
    const head = Math.max(room.headSeq, ...messages.map((m) => m.seq));
    if (head > room.headSeq) rooms.set(room.id, { ...room, headSeq: head });
    return toRoom({ ...room, headSeq: head });
  };

  /** Loads one page, newest message last, with the cursor of the page before it. */
  const historyPage = async (roomId: string, limit: number, beforeSeq?: number): Promise<HistoryPage> => {
    const records = await store.messages.page(roomId, { limit: limit + 1, beforeSeq });
    const hasMore = records.length > limit;
    const page = records.slice(0, limit);
    const oldest = page.at(-1);
    return {
      messages: (await toMessages(page)).reverse(),
      nextCursor: hasMore && oldest ? encodeCursor(oldest) : null,
    };
  };

  /** Oldest first, the messages with a seq above `afterSeq`: the catch-up read. */
  const messagesSince = async (roomId: string, afterSeq: number, limit: number, known?: RoomRecord): Promise<SincePage> => {
    const room = known ?? (await requireRoom(roomId));
    const records = await store.messages.since(room.id, { afterSeq, limit });
    return { roomId: room.id, messages: await toMessages(records), complete: records.length < limit };
  };

  return {
    toUser,

    /** A person's name or photo changed (here or on another replica). */
    userChanged(user: UserDTO): void {
      authors.set(user.id, user);
    },

    async findUser(id: string): Promise<UserDTO | null> {
      const user = await store.users.findById(id);
      return user && toUser(user);
    },

    async defaultRoom(): Promise<RoomDTO> {
      return toRoom(await store.rooms.ensure(DEFAULT_ROOM));
    },

    /** A page of rooms, oldest first; `nextCursor` continues after its last one. */
    async listRooms(after?: string, limit: number = LIMITS.roomPageSize): Promise<{ rooms: RoomDTO[]; nextCursor: string | null }> {
      const records = await store.rooms.list({ limit: limit + 1, after: after === undefined ? undefined : decodeRoomCursor(after) });
      const page = records.slice(0, limit);
      const last = page.at(-1);
      return { rooms: page.map(toRoom), nextCursor: records.length > limit && last ? encodeRoomCursor(last) : null };
    },

    countRooms: () => store.rooms.count(),

    async createRoom(rawName: unknown): Promise<RoomDTO> {
      const parsed = roomName.safeParse(rawName);
      if (!parsed.success) throw new ChatError('INVALID_ROOM_NAME', firstIssue(parsed.error));
      try {
        return toRoom(await store.rooms.create(parsed.data));
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
    async openRoom(roomId: string, afterSeq?: number): Promise<{ room: RoomDTO; caughtUp: boolean } & HistoryPage> {
      const room = await requireRoom(roomId);
      if (afterSeq === undefined) {
        const page = await historyPage(room.id, LIMITS.historyPageSize);
        return { room: withHead(room, page.messages), caughtUp: true, ...page };
      }
      const since = await messagesSince(roomId, afterSeq, LIMITS.historyMaxPageSize, room);
      return { room: withHead(room, since.messages), messages: since.messages, nextCursor: null, caughtUp: since.complete };
    },

    async olderMessages(roomId: string, cursor: string, limit: number = LIMITS.historyPageSize): Promise<HistoryPage> {
      const beforeSeq = decodeCursor(cursor);
      await requireRoom(roomId);
      return historyPage(roomId, limit, beforeSeq);
    },

    messagesSince,

    /**
     * Stores a message with the room's next seq. The author is the signed-in person the
     * socket already knows, and the room's existence is checked by the counter step itself:
     * a send costs the store one counter step and one insert, shared by sends that arrive
     * together. `created` is false for a resent clientId: the stored message is returned.
     */
    async sendMessage(
      author: UserDTO,
      roomId: string,
      rawText: string,
      { clientId, resend = false }: { clientId?: string | undefined; resend?: boolean | undefined } = {},
    ): Promise<{ message: MessageDTO; created: boolean }> {
      const text = cleanMessageText(rawText);
      if ([...text].length > LIMITS.messageMaxLength) {
        throw new ChatError('MESSAGE_TOO_LONG', `A message has at most ${LIMITS.messageMaxLength} characters`);
      }
      const appended = await writer.append(roomId, { authorId: author.id, text, clientId: clientId ?? randomUUID(), resend: resend && clientId !== undefined });
      if (!appended) throw new ChatError('ROOM_NOT_FOUND', 'This room does not exist');
      const { record, created } = appended;
      if (record.roomId !== roomId) {
        throw new ChatError('INVALID_PAYLOAD', 'clientId: already used for a message in another room');
      }
      return { message: toMessage(record, author), created };
    },

    async setAvatar(userId: string, file: string): Promise<{ user: UserDTO; previous: string | null }> {
      const result = await store.users.setAvatar(userId, file);
      if (!result) throw new ChatError('UNAUTHORIZED', 'Sign in again');
      return { user: toUser(result.user), previous: result.previous };
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
