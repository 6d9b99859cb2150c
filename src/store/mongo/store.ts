import type { Connection } from 'mongoose';
import type { Logger } from '../../lib/logger';
import { MAX_TRACKED_SESSIONS, nameKey, type PasskeyRecord, type Store, type UserRecord } from '../types';
import { guard, insertOrFind, openConnection, serverKind, type MongoConnectOptions } from './connection';
import { createMessageRepository } from './messages';
import { migrateMessageSeq, migrateNameKeys } from './migrations';
import { createModels, isId, type Models, type UserDoc } from './models';
import { createReadRepository } from './reads';
import { createRoomRepository } from './rooms';
import { MongoSessionStore, SESSIONS_COLLECTION, type SessionCleanup } from './sessions';

export interface MongoStoreOptions extends MongoConnectOptions {
  /** 'auto' picks 'ttl' on MongoDB and 'interval' on FerretDB, which has no TTL indexes. */
  sessionCleanup: 'auto' | SessionCleanup;
  /** Minutes between interval clean-ups of expired sessions. @default 10 */
  sessionCleanupIntervalMinutes?: number;
  /** Session lifetime, for sessions whose cookie carries none. */
  sessionTtlMs: number;
  /** How long isReady() waits for the ping. @default 1000 */
  readyTimeoutMS?: number;
}

/** Connects (with retries), creates the indexes, and returns the MongoDB store. */
export async function connectMongoStore(options: MongoStoreOptions, logger: Logger): Promise<Store> {
  const connection = await openConnection(options, logger);
  try {
    const kind = await serverKind(connection);
    const cleanup = options.sessionCleanup === 'auto' ? (kind === 'ferretdb' ? 'interval' : 'ttl') : options.sessionCleanup;
    const models = createModels(connection);
    await Promise.all(Object.values(models).map((model) => model.createIndexes()));
    await migrateMessageSeq(connection, models, logger);
    await migrateNameKeys(connection, models, logger);
    if (cleanup === 'ttl') await createSessionTtlIndex(connection, kind);
    logger.info(
      { server: kind, sessionCleanup: cleanup },
      `store: MongoDB (${kind}), expired sessions removed by ${cleanup === 'ttl' ? 'a TTL index' : 'an interval clean-up'}`,
    );
    return createStore(connection, models, { ...options, sessionCleanup: cleanup });
  } catch (error) {
    await connection.close(true);
    throw error;
  }
}

async function createSessionTtlIndex(connection: Connection, kind: string) {
  try {
    await connection.db!.collection(SESSIONS_COLLECTION).createIndex({ expires: 1 }, { expireAfterSeconds: 0 });
  } catch (error) {
    throw new Error(
      `MONGO_SESSION_CLEANUP=ttl, but this server (${kind}) cannot create a TTL index: use MONGO_SESSION_CLEANUP=interval or auto`,
      { cause: error },
    );
  }
}

function createStore(
  connection: Connection,
  { User, Room, Message, Read, Mention }: Models,
  options: MongoStoreOptions & { sessionCleanup: SessionCleanup },
): Store {
  const sessionStores: MongoSessionStore[] = [];

  /** One atomic update of a user; the user after it, or null for an unknown id. */
  const updateUser = (id: string, change: Record<string, unknown>) =>
    guard(async () => {
      if (!isId(id)) return null;
      const user = await User.findOneAndUpdate({ _id: id }, change, { returnDocument: 'after' }).lean<UserDoc>();
      return user && toUser(user);
    });

  /**
   * FerretDB 1.x has neither `$pull` by a sub-document's field nor the positional `$`: the
   * (short) list is read and written back whole.
   */
  const rewritePasskeys = (id: string, change: (list: PasskeyRecord[]) => PasskeyRecord[]) =>
    guard(async () => {
      if (!isId(id)) return null;
      const user = await User.findById(id).lean<UserDoc>();
      return user && updateUser(id, { $set: { passkeys: change(toUser(user).passkeys) } });
    });

  return {
    kind: 'mongodb',
    users: {
      findOrCreateByName: (name) =>
        guard(async () => {
          const key = nameKey(name);
          const find = async () => {
            const user = await User.findOne({ nameKey: key }).lean<UserDoc>();
            return user && toUser(user);
          };
          // Find first: signing in is mostly signing back in. Upserts are avoided
          // because FerretDB 1.x returns no document from findAndModify upserts.
          return (await find()) ?? insertOrFind(async () => toUser((await User.create({ name, nameKey: key })).toObject()), find);
        }),
      findById: (id) =>
        guard(async () => {
          if (!isId(id)) return null;
          const user = await User.findById(id).lean<UserDoc>();
          return user && toUser(user);
        }),
      findByIds: (ids) =>
        guard(async () => {
          const valid = [...new Set(ids.filter(isId))];
          if (valid.length === 0) return [];
          const found = new Map((await User.find({ _id: { $in: valid } }).lean<UserDoc[]>()).map((u) => [u._id.toHexString(), toUser(u)]));
          return ids.flatMap((id) => (found.has(id) ? [{ ...found.get(id)! }] : []));
        }),
      setAvatar: (id, avatar) =>
        guard(async () => {
          if (!isId(id)) return null;
          const updatedAt = new Date();
          // One atomic update that also hands back the file it replaced.
          const before = await User.findOneAndUpdate(
            { _id: id },
            { $set: { avatar, updatedAt } },
            { returnDocument: 'before', timestamps: false },
          ).lean<UserDoc>();
          if (!before) return null;
          return { user: { ...toUser(before), avatar, updatedAt }, previous: before.avatar ?? null };
        }),
      findByName: (name) =>
        guard(async () => {
          const user = await User.findOne({ nameKey: nameKey(name) }).lean<UserDoc>();
          return user && toUser(user);
        }),
      findByNameKeys: (keys) =>
        guard(async () => {
          const unique = [...new Set(keys)];
          if (unique.length === 0) return [];
          const found = new Map((await User.find({ nameKey: { $in: unique } }).lean<UserDoc[]>()).map((u) => [u.nameKey, toUser(u)]));
          return unique.flatMap((key) => (found.has(key) ? [found.get(key)!] : []));
        }),
      setPassword: (id, hash) => updateUser(id, { $set: { passwordHash: hash } }),
      addPasskey: (id, passkey) => updateUser(id, { $push: { passkeys: passkey } }),
      removePasskey: (id, credentialId) => rewritePasskeys(id, (list) => list.filter((p) => p.id !== credentialId)),
      setPasskeyCounter: async (id, credentialId, counter) => {
        await rewritePasskeys(id, (list) => list.map((p) => (p.id === credentialId ? { ...p, counter } : p)));
      },
      addSession: (id, sessionId) =>
        guard(async () => {
          if (!isId(id)) return;
          const after = await User.findOneAndUpdate(
            { _id: id },
            { $push: { sessionIds: { $each: [sessionId], $slice: -MAX_TRACKED_SESSIONS } } },
            { returnDocument: 'after', timestamps: false },
          ).lean<Pick<UserDoc, 'sessionIds'>>();
          // FerretDB 1.x ignores $slice: the list would grow with every sign-in.
          const excess = (after?.sessionIds ?? []).slice(0, -MAX_TRACKED_SESSIONS);
          if (excess.length > 0) await User.updateOne({ _id: id }, { $pullAll: { sessionIds: excess } }, { timestamps: false });
        }),
      removeSession: (id, sessionId) =>
        guard(async () => {
          if (!isId(id)) return;
          await User.updateOne({ _id: id }, { $pull: { sessionIds: sessionId } }, { timestamps: false });
        }),
      touch: (id) =>
        guard(async () => {
          if (!isId(id)) return;
          await User.updateOne({ _id: id }, { $set: { lastSeenAt: new Date() } }, { timestamps: false });
        }),
      deleteIdleUnprotected: (before, limit) =>
        guard(async () => {
          const idle = await User.find({ lastSeenAt: { $lt: before }, passwordHash: null, passkeys: { $size: 0 } })
            .limit(limit)
            .lean<UserDoc[]>();
          if (idle.length === 0) return [];
          // The same conditions again: a user who protected the name meanwhile stays.
          await User.deleteMany({ _id: { $in: idle.map((u) => u._id) }, lastSeenAt: { $lt: before }, passwordHash: null, passkeys: { $size: 0 } });
          const left = new Set((await User.find({ _id: { $in: idle.map((u) => u._id) } }, { _id: 1 }).lean<UserDoc[]>()).map((u) => u._id.toHexString()));
          return idle.filter((u) => !left.has(u._id.toHexString())).map((u) => ({ id: u._id.toHexString(), sessionIds: u.sessionIds ?? [] }));
        }),
      endSessions: (id) =>
        guard(async () => {
          if (!isId(id)) return null;
          const before = await User.findOneAndUpdate(
            { _id: id },
            { $inc: { sessionEpoch: 1 }, $set: { sessionIds: [] } },
            { returnDocument: 'before', timestamps: false },
          ).lean<UserDoc>();
          return before && { sessionEpoch: (before.sessionEpoch ?? 0) + 1, sessionIds: before.sessionIds ?? [] };
        }),
    },
    rooms: createRoomRepository({ Room }),
    messages: createMessageRepository({ Room, Message }),
    reads: createReadRepository({ Read, Mention }),
    createSessionStore() {
      const store = new MongoSessionStore(connection, {
        cleanup: options.sessionCleanup,
        cleanupIntervalMinutes: options.sessionCleanupIntervalMinutes,
        ttlSeconds: Math.round(options.sessionTtlMs / 1000),
      });
      sessionStores.push(store);
      return store;
    },
    async isReady() {
      try {
        await connection.db!.admin().command({ ping: 1 }, { timeoutMS: options.readyTimeoutMS ?? 1000 });
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await connection.close(true);
      // Stops their interval clean-ups; the client they share is closed already.
      await Promise.all(sessionStores.map((store) => store.close()));
    },
  };
}

const toUser = (doc: UserDoc): UserRecord => ({
  id: doc._id.toHexString(),
  name: doc.name,
  avatar: doc.avatar ?? null,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
  passwordHash: doc.passwordHash ?? null,
  passkeys: (doc.passkeys ?? []).map((p) => ({ id: p.id, publicKey: p.publicKey, counter: p.counter, transports: [...(p.transports ?? [])], createdAt: p.createdAt })),
  sessionEpoch: doc.sessionEpoch ?? 0,
  lastSeenAt: doc.lastSeenAt ?? doc.updatedAt,
});
