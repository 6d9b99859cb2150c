import { randomBytes } from 'node:crypto';
import session from 'express-session';
import { LIMITS } from '../shared/protocol';
import {
  DuplicateNameError,
  MAX_TRACKED_SESSIONS,
  nameKey,
  type AppendedMessage,
  type MessageRecord,
  type ReadRecord,
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
  /** By name key, or for a direct conversation by `dm:<id>:<id>` (as MongoDB's unique index). */
  const roomByName = new Map<string, string>();
  /** Each person's direct conversations, oldest first. */
  const directOf = new Map<string, RoomRecord[]>();
  const copyRoom = (room: RoomRecord): RoomRecord => ({ ...room, members: [...room.members] });
  const messagesByRoom = new Map<string, MessageRecord[]>();
  const messageByClientId = new Map<string, MessageRecord>();
  const messageById = new Map<string, MessageRecord>();
  const copyMessage = (m: MessageRecord): MessageRecord => ({ ...m, mentions: m.mentions.map((x) => ({ ...x })), reactions: m.reactions.map((x) => ({ ...x })) });
  /** Read positions by person, then room. */
  const reads = new Map<string, Map<string, ReadRecord>>();
  const copyRead = (read: ReadRecord): ReadRecord => ({ ...read, mentions: read.mentions.filter((m) => m > read.seq).sort((a, b) => a - b) });
  const readOf = (userId: string, roomId: string, seqIfNew: number): ReadRecord => {
    const mine = reads.get(userId) ?? new Map<string, ReadRecord>();
    reads.set(userId, mine);
    const read = mine.get(roomId) ?? { roomId, seq: seqIfNew, mentions: [] };
    mine.set(roomId, read);
    return read;
  };
  const pruneTimers: NodeJS.Timeout[] = [];

  const createRoom = (name: string, key = nameKey(name), members: string[] = []): RoomRecord => {
    const room: RoomRecord = { id: newId(), name, createdAt: new Date(), headSeq: 0, headRev: 0, kind: members.length > 0 ? 'direct' : 'public', members };
    rooms.set(room.id, room);
    roomByName.set(key, room.id);
    for (const member of new Set(members)) directOf.set(member, [...(directOf.get(member) ?? []), room]);
    return copyRoom(room);
  };
  /** In creation order: ids and times grow together. */
  const publicRooms = () => [...rooms.values()].filter((r) => r.kind === 'public');

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
      async findByNameKeys(keys) {
        return [...new Set(keys)].flatMap((key) => (userByName.has(key) ? [copy(users.get(userByName.get(key)!)!)] : []));
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
      async ensureDirect(userA, userB) {
        const members = [userA, userB].sort();
        if (!members.every(isId)) throw new TypeError(`ensureDirect: not user ids: ${members.join(', ')}`);
        const key = `dm:${members.join(':')}`;
        const existing = rooms.get(roomByName.get(key) ?? '');
        return existing ? { room: copyRoom(existing), created: false } : { room: createRoom('', key, members), created: true };
      },
      async listDirect(userId, limit) {
        return (directOf.get(userId) ?? []).slice(-limit).reverse().map(copyRoom);
      },
      async ensure(name) {
        const existing = roomByName.get(nameKey(name));
        return existing ? copyRoom(rooms.get(existing)!) : createRoom(name);
      },
      async create(name) {
        if (roomByName.has(nameKey(name))) throw new DuplicateNameError(`The room name "${name}"`);
        return createRoom(name);
      },
      async findById(id) {
        const room = rooms.get(id);
        return room ? copyRoom(room) : null;
      },
      async count() {
        return publicRooms().length;
      },
      async list({ limit, after }) {
        const all = publicRooms();
        const start = after ? all.findIndex((r) => r.createdAt > after.createdAt || (r.createdAt.getTime() === after.createdAt.getTime() && r.id > after.id)) : 0;
        return (start < 0 ? [] : all.slice(start, start + limit)).map(copyRoom);
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
          if (existing) return { record: copyMessage(existing), created: false };
          room.headSeq += 1;
          const { authorId, text, clientId } = input;
          const mentions = (input.mentions ?? []).map((m) => ({ ...m }));
          const message: MessageRecord = { id: newId(), roomId, seq: room.headSeq, authorId, text, clientId, createdAt: new Date(), rev: 0, editedAt: null, deletedAt: null, mentions, reactions: [] };
          list.push(message); // list[i].seq === i + 1
          messageByClientId.set(key, message);
          messageById.set(message.id, message);
          return { record: copyMessage(message), created: true };
        });
      },
      async page(roomId, { limit, beforeSeq }) {
        const list = messagesByRoom.get(roomId) ?? [];
        const end = beforeSeq === undefined ? list.length : Math.min(list.length, Math.max(0, beforeSeq - 1));
        return list
          .slice(Math.max(0, end - limit), end)
          .reverse()
          .map(copyMessage);
      },
      async since(roomId, { limit, afterSeq }) {
        const list = messagesByRoom.get(roomId) ?? [];
        const start = Math.max(0, afterSeq);
        return list.slice(start, start + limit).map(copyMessage);
      },
      async findById(roomId, messageId) {
        const message = messageById.get(messageId);
        return message?.roomId === roomId ? copyMessage(message) : null;
      },
      async change(roomId, messageId, expectedRev, change) {
        const room = rooms.get(roomId);
        if (!room) return null;
        // As on MongoDB: the counter steps before the message is checked.
        room.headRev = Math.max(room.headRev + 1, expectedRev + 1);
        const message = messageById.get(messageId);
        if (message?.roomId !== roomId || message.rev !== expectedRev) return null;
        const given = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined));
        Object.assign(message, copyMessage({ ...message, ...given }), { rev: room.headRev });
        return copyMessage(message);
      },
      async changedSince(roomId, { fromRev, limit }) {
        // A never-changed message (rev 0) is no change: from rev 1 at the lowest.
        return (messagesByRoom.get(roomId) ?? [])
          .filter((m) => m.rev >= Math.max(1, fromRev))
          .sort((a, b) => a.rev - b.rev || a.seq - b.seq)
          .slice(0, limit)
          .map(copyMessage);
      },
    },
    reads: {
      async mark(userId, roomId, seq) {
        if (!isId(userId) || !isId(roomId)) return { roomId, seq, mentions: [] };
        const read = readOf(userId, roomId, seq);
        read.seq = Math.max(read.seq, seq);
        read.mentions = read.mentions.filter((m) => m > read.seq);
        return copyRead(read);
      },
      async list(userId) {
        return [...(reads.get(userId)?.values() ?? [])].sort((a, b) => (a.roomId < b.roomId ? -1 : 1)).map(copyRead);
      },
      async addMention(roomId, seq, userIds) {
        if (!isId(roomId)) return;
        for (const userId of new Set(userIds.filter(isId))) {
          const read = readOf(userId, roomId, seq - 1);
          if (read.seq >= seq || read.mentions.includes(seq)) continue;
          // The newest are kept, as the MongoDB store returns them.
          read.mentions = [...read.mentions, seq].sort((a, b) => a - b).slice(-LIMITS.mentionsRemembered);
        }
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

/** Whether a string is shaped like an id: anything else names nothing (as on MongoDB). */
const isId = (id: string) => /^[0-9a-f]{24}$/.test(id);

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
