import { randomBytes } from 'node:crypto';
import session from 'express-session';
import {
  DuplicateNameError,
  nameKey,
  type HistoryCursor,
  type MessageRecord,
  type NewMessage,
  type RoomRecord,
  type Store,
  type UserRecord,
} from './types';

/**
 * The embedded default: everything in this process, lost on restart. Ids
 * are shaped like MongoDB ObjectIds (time first) so ordering matches.
 */
export function createMemoryStore(): Store {
  const newId = idGenerator();
  const users = new Map<string, UserRecord>();
  const userByName = new Map<string, string>();
  const rooms = new Map<string, RoomRecord>();
  const roomByName = new Map<string, string>();
  const messagesByRoom = new Map<string, MessageRecord[]>();
  const messageByClientId = new Map<string, MessageRecord>();
  const pruneTimers: NodeJS.Timeout[] = [];

  const createRoom = (name: string): RoomRecord => {
    const room = { id: newId(), name, createdAt: new Date() };
    rooms.set(room.id, room);
    roomByName.set(nameKey(name), room.id);
    return { ...room };
  };

  return {
    kind: 'memory',
    users: {
      async findOrCreateByName(name) {
        const existing = userByName.get(nameKey(name));
        if (existing) return { ...users.get(existing)! };
        const now = new Date();
        const user: UserRecord = { id: newId(), name, avatar: null, createdAt: now, updatedAt: now };
        users.set(user.id, user);
        userByName.set(nameKey(name), user.id);
        return { ...user };
      },
      async findById(id) {
        const user = users.get(id);
        return user ? { ...user } : null;
      },
      async findByIds(ids) {
        return ids.flatMap((id) => (users.has(id) ? [{ ...users.get(id)! }] : []));
      },
      async setAvatar(id, avatar) {
        const user = users.get(id);
        if (!user) return null;
        const previous = user.avatar;
        user.avatar = avatar;
        user.updatedAt = new Date();
        return { user: { ...user }, previous };
      },
    },
    rooms: {
      async ensure(name) {
        const existing = roomByName.get(nameKey(name));
        return existing ? { ...rooms.get(existing)! } : createRoom(name);
      },
      async create(name) {
        if (roomByName.has(nameKey(name))) throw new DuplicateNameError(`The room name "${name}"`);
        return createRoom(name);
      },
      async findById(id) {
        const room = rooms.get(id);
        return room ? { ...room } : null;
      },
      async list() {
        return [...rooms.values()].map((room) => ({ ...room }));
      },
    },
    messages: {
      async add(input: NewMessage) {
        const key = `${input.authorId}\u0000${input.clientId}`;
        const existing = messageByClientId.get(key);
        if (existing) return { ...existing };
        const message: MessageRecord = { ...input, id: newId(), createdAt: new Date() };
        const list = messagesByRoom.get(input.roomId) ?? [];
        list.push(message); // appended in (createdAt, id) order: ids grow with time
        messagesByRoom.set(input.roomId, list);
        messageByClientId.set(key, message);
        return { ...message };
      },
      async page(roomId, { limit, before }) {
        const list = messagesByRoom.get(roomId) ?? [];
        let end = list.length;
        if (before) end = lowerBound(list, before);
        return list
          .slice(Math.max(0, end - limit), end)
          .reverse()
          .map((m) => ({ ...m }));
      },
    },
    createSessionStore() {
      const sessions = new session.MemoryStore();
      // MemoryStore drops an expired session only when it is read, and all() reads every one.
      const prune = setInterval(() => sessions.all(() => {}), 60_000);
      prune.unref();
      pruneTimers.push(prune);
      return sessions;
    },
    isReady: async () => true,
    close: async () => {
      for (const timer of pruneTimers) clearInterval(timer);
    },
  };
}

/** Index of the first message not older than the cursor (binary search). */
function lowerBound(list: MessageRecord[], cursor: HistoryCursor): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (isOlder(list[mid]!, cursor)) low = mid + 1;
    else high = mid;
  }
  return low;
}

function isOlder(message: MessageRecord, cursor: HistoryCursor): boolean {
  const delta = message.createdAt.getTime() - cursor.createdAt.getTime();
  return delta < 0 || (delta === 0 && message.id < cursor.id);
}

/** 24 hex digits: 8 of seconds, 6 of random process id, 10 of a counter. */
function idGenerator(): () => string {
  const processPart = randomBytes(3).toString('hex');
  let counter = 0;
  return () => {
    const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
    counter += 1;
    return seconds + processPart + counter.toString(16).padStart(10, '0');
  };
}
