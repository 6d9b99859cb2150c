import { randomBytes } from 'node:crypto';
import session from 'express-session';
import {
  DuplicateNameError,
  MAX_TRACKED_SESSIONS,
  nameKey,
  type AppendedMessage,
  type MessageRecord,
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
  const sessionsOf = new Map<string, string[]>();
  const copy = (user: UserRecord): UserRecord => ({ ...user, passkeys: user.passkeys.map((p) => ({ ...p, transports: [...p.transports] })) });
  /** Applies a change to a stored user and returns a copy, or null for an unknown id. */
  const update = (id: string, change: (user: UserRecord) => void): UserRecord | null => {
    const user = users.get(id);
    if (!user) return null;
    change(user);
    user.updatedAt = new Date();
    return copy(user);
  };
  const userByName = new Map<string, string>();
  const rooms = new Map<string, RoomRecord>();
  const roomByName = new Map<string, string>();
  const messagesByRoom = new Map<string, MessageRecord[]>();
  const messageByClientId = new Map<string, MessageRecord>();
  const pruneTimers: NodeJS.Timeout[] = [];

  const createRoom = (name: string): RoomRecord => {
    const room = { id: newId(), name, createdAt: new Date(), headSeq: 0 };
    rooms.set(room.id, room);
    roomByName.set(nameKey(name), room.id);
    return { ...room };
  };

  return {
    kind: 'memory',
    users: {
      async findOrCreateByName(name) {
        const existing = userByName.get(nameKey(name));
        if (existing) return copy(users.get(existing)!);
        const now = new Date();
        const user: UserRecord = {
          id: newId(),
          name,
          avatar: null,
          createdAt: now,
          updatedAt: now,
          passwordHash: null,
          passkeys: [],
          sessionEpoch: 0,
          lastSeenAt: now,
        };
        users.set(user.id, user);
        userByName.set(nameKey(name), user.id);
        return copy(user);
      },
      async findById(id) {
        const user = users.get(id);
        return user ? copy(user) : null;
      },
      async findByIds(ids) {
        return ids.flatMap((id) => (users.has(id) ? [copy(users.get(id)!)] : []));
      },
      async findByName(name) {
        const id = userByName.get(nameKey(name));
        return id ? copy(users.get(id)!) : null;
      },
      async setPassword(id, hash) {
        return update(id, (user) => (user.passwordHash = hash));
      },
      async addPasskey(id, passkey) {
        return update(id, (user) => user.passkeys.push({ ...passkey, transports: [...passkey.transports] }));
      },
      async removePasskey(id, credentialId) {
        return update(id, (user) => (user.passkeys = user.passkeys.filter((p) => p.id !== credentialId)));
      },
      async setPasskeyCounter(id, credentialId, counter) {
        const passkey = users.get(id)?.passkeys.find((p) => p.id === credentialId);
        if (passkey) passkey.counter = counter;
      },
      async addSession(id, sessionId) {
        if (!users.has(id)) return;
        sessionsOf.set(id, [...(sessionsOf.get(id) ?? []), sessionId].slice(-MAX_TRACKED_SESSIONS));
      },
      async removeSession(id, sessionId) {
        const list = sessionsOf.get(id);
        if (list) sessionsOf.set(id, list.filter((s) => s !== sessionId));
      },
      async touch(id) {
        const user = users.get(id);
        if (user) user.lastSeenAt = new Date();
      },
      async deleteIdleUnprotected(before, limit) {
        const idle = [...users.values()]
          .filter((u) => u.passwordHash === null && u.passkeys.length === 0 && u.lastSeenAt < before)
          .slice(0, limit);
        return idle.map((user) => {
          users.delete(user.id);
          userByName.delete(nameKey(user.name));
          const sessionIds = sessionsOf.get(user.id) ?? [];
          sessionsOf.delete(user.id);
          return { id: user.id, sessionIds };
        });
      },
      async endSessions(id) {
        const user = users.get(id);
        if (!user) return null;
        user.sessionEpoch += 1;
        const sessionIds = sessionsOf.get(id) ?? [];
        sessionsOf.delete(id);
        return { sessionEpoch: user.sessionEpoch, sessionIds };
      },
      async setAvatar(id, avatar) {
        const user = users.get(id);
        if (!user) return null;
        const previous = user.avatar;
        user.avatar = avatar;
        user.updatedAt = new Date();
        return { user: copy(user), previous };
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
      async count() {
        return rooms.size;
      },
      async list({ limit, after }) {
        const all = [...rooms.values()]; // in creation order: ids and times grow together
        const start = after ? all.findIndex((r) => r.createdAt > after.createdAt || (r.createdAt.getTime() === after.createdAt.getTime() && r.id > after.id)) : 0;
        return (start < 0 ? [] : all.slice(start, start + limit)).map((room) => ({ ...room }));
      },
    },
    messages: {
      async append(roomId, inputs) {
        const room = rooms.get(roomId);
        if (!room) return null;
        const list = messagesByRoom.get(roomId) ?? [];
        messagesByRoom.set(roomId, list);
        return inputs.map((input): AppendedMessage => {
          const key = `${input.authorId}\u0000${input.clientId}`;
          const existing = messageByClientId.get(key);
          if (existing) return { record: { ...existing }, created: false };
          room.headSeq += 1;
          const message: MessageRecord = { ...input, roomId, seq: room.headSeq, id: newId(), createdAt: new Date() };
          list.push(message); // list[i].seq === i + 1
          messageByClientId.set(key, message);
          return { record: { ...message }, created: true };
        });
      },
      async page(roomId, { limit, beforeSeq }) {
        const list = messagesByRoom.get(roomId) ?? [];
        const end = beforeSeq === undefined ? list.length : Math.min(list.length, Math.max(0, beforeSeq - 1));
        return list
          .slice(Math.max(0, end - limit), end)
          .reverse()
          .map((m) => ({ ...m }));
      },
      async since(roomId, { limit, afterSeq }) {
        const list = messagesByRoom.get(roomId) ?? [];
        const start = Math.max(0, afterSeq);
        return list.slice(start, start + limit).map((m) => ({ ...m }));
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
