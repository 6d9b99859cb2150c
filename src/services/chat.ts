import { randomUUID } from 'node:crypto';
import {
  DEFAULT_ROOM,
  LIMITS,
  type HistoryPage,
  type MessageDTO,
  type RoomDTO,
  type UserDTO,
} from '../shared/protocol';
import {
  DuplicateNameError,
  type HistoryCursor,
  type MessageRecord,
  type RoomRecord,
  type Store,
  type UserRecord,
} from '../store/types';
import { ChatError } from './errors';
import { displayName, firstIssue, roomName } from './schemas';

/**
 * The chat's rules, independent of HTTP and sockets: both call these and
 * only translate the results and ChatErrors to their transport.
 */
export type ChatService = ReturnType<typeof createChatService>;

export function createChatService(store: Store) {
  const toUser = (user: UserRecord): UserDTO => ({
    id: user.id,
    name: user.name,
    avatarUrl: user.avatar ? `/avatars/${user.avatar}` : null,
  });

  const toRoom = (room: RoomRecord): RoomDTO => ({
    id: room.id,
    name: room.name,
    createdAt: room.createdAt.toISOString(),
  });

  const toMessages = async (records: MessageRecord[]): Promise<MessageDTO[]> => {
    const authorIds = [...new Set(records.map((m) => m.authorId))];
    const authors = new Map((await store.users.findByIds(authorIds)).map((u) => [u.id, toUser(u)]));
    return records.map((m) => ({
      id: m.id,
      roomId: m.roomId,
      author: authors.get(m.authorId) ?? { id: m.authorId, name: 'Unknown', avatarUrl: null },
      text: m.text,
      createdAt: m.createdAt.toISOString(),
      clientId: m.clientId,
    }));
  };

  const requireRoom = async (roomId: string): Promise<RoomRecord> => {
    const room = await store.rooms.findById(roomId);
    if (!room) throw new ChatError('ROOM_NOT_FOUND', 'This room does not exist');
    return room;
  };

  /** Loads one page, newest message last, with the cursor of the page before it. */
  const historyPage = async (roomId: string, limit: number, before?: HistoryCursor): Promise<HistoryPage> => {
    const records = await store.messages.page(roomId, { limit: limit + 1, before });
    const hasMore = records.length > limit;
    const page = records.slice(0, limit);
    const oldest = page.at(-1);
    return {
      messages: (await toMessages(page)).reverse(),
      nextCursor: hasMore && oldest ? encodeCursor(oldest) : null,
    };
  };

  return {
    toUser,

    async signIn(rawName: unknown): Promise<UserDTO> {
      const parsed = displayName.safeParse(rawName);
      if (!parsed.success) throw new ChatError('INVALID_NAME', firstIssue(parsed.error));
      return toUser(await store.users.findOrCreateByName(parsed.data));
    },

    async findUser(id: string): Promise<UserDTO | null> {
      const user = await store.users.findById(id);
      return user && toUser(user);
    },

    async findUsers(ids: readonly string[]): Promise<UserDTO[]> {
      return (await store.users.findByIds(ids)).map(toUser);
    },

    async defaultRoom(): Promise<RoomDTO> {
      return toRoom(await store.rooms.ensure(DEFAULT_ROOM));
    },

    async listRooms(): Promise<RoomDTO[]> {
      return (await store.rooms.list()).map(toRoom);
    },

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

    async openRoom(roomId: string): Promise<{ room: RoomDTO } & HistoryPage> {
      const room = await requireRoom(roomId);
      return { room: toRoom(room), ...(await historyPage(room.id, LIMITS.historyPageSize)) };
    },

    async olderMessages(roomId: string, cursor: string, limit: number = LIMITS.historyPageSize): Promise<HistoryPage> {
      const before = decodeCursor(cursor);
      await requireRoom(roomId);
      return historyPage(roomId, limit, before);
    },

    async sendMessage(author: UserDTO, roomId: string, rawText: string, clientId?: string): Promise<MessageDTO> {
      const text = rawText.trim();
      if (text.length === 0) throw new ChatError('MESSAGE_EMPTY', 'Type a message first');
      if ([...text].length > LIMITS.messageMaxLength) {
        throw new ChatError('MESSAGE_TOO_LONG', `A message has at most ${LIMITS.messageMaxLength} characters`);
      }
      await requireRoom(roomId);
      const record = await store.messages.add({
        roomId,
        authorId: author.id,
        text,
        clientId: clientId ?? randomUUID(),
      });
      if (record.roomId !== roomId) {
        throw new ChatError('INVALID_PAYLOAD', 'clientId: already used for a message in another room');
      }
      // Stored: from here on a failure must not say "nothing was stored".
      const fallback: MessageDTO = {
        id: record.id,
        roomId,
        author,
        text: record.text,
        createdAt: record.createdAt.toISOString(),
        clientId: record.clientId,
      };
      const [message] = await toMessages([record]).catch(() => [fallback]);
      return message ?? fallback;
    },

    async setAvatar(userId: string, file: string): Promise<{ user: UserDTO; previous: string | null }> {
      const result = await store.users.setAvatar(userId, file);
      if (!result) throw new ChatError('UNAUTHORIZED', 'Sign in again');
      return { user: toUser(result.user), previous: result.previous };
    },
  };
}

/** Cursors are opaque to clients: base64url of "<createdAt ms>.<id>". */
export function encodeCursor(message: { createdAt: Date; id: string }): string {
  return Buffer.from(`${message.createdAt.getTime()}.${message.id}`).toString('base64url');
}

export function decodeCursor(cursor: string): HistoryCursor {
  const match = /^(\d{1,15})\.([a-f0-9]{24})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new ChatError('INVALID_PAYLOAD', 'before: not a cursor this server gave out');
  return { createdAt: new Date(Number(match[1])), id: match[2]! };
}
