import { Types, type Connection } from 'mongoose';
import type { Logger } from '../../lib/logger';
import {
  DuplicateNameError,
  nameKey,
  type HistoryCursor,
  type MessageRecord,
  type RoomRecord,
  type Store,
  type UserRecord,
} from '../types';
import { isDuplicateKey, openConnection, serverKind, toStoreError, type MongoConnectOptions } from './connection';
import { createModels, type MessageDoc, type Models, type RoomDoc, type UserDoc } from './models';
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
  { User, Room, Message }: Models,
  options: MongoStoreOptions & { sessionCleanup: SessionCleanup },
): Store {
  const sessionStores: MongoSessionStore[] = [];

  /** Runs a store operation, turning outages into StoreUnavailableError. */
  const guard = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return await operation();
    } catch (error) {
      throw toStoreError(error);
    }
  };

  /** Inserts, or returns the existing document when a unique index says it exists already. */
  const insertOrFind = async <T>(insert: () => Promise<T>, find: () => Promise<T | null>): Promise<T> => {
    try {
      return await insert();
    } catch (error) {
      if (!isDuplicateKey(error)) throw error;
      const existing = await find();
      if (!existing) throw error;
      return existing;
    }
  };

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
    },
    rooms: {
      ensure: (name) =>
        guard(async () => {
          const key = nameKey(name);
          const find = async () => {
            const room = await Room.findOne({ nameKey: key }).lean<RoomDoc>();
            return room && toRoom(room);
          };
          return (await find()) ?? insertOrFind(async () => toRoom((await Room.create({ name, nameKey: key })).toObject()), find);
        }),
      create: (name) =>
        guard(async () => {
          try {
            return toRoom((await Room.create({ name, nameKey: nameKey(name) })).toObject());
          } catch (error) {
            if (isDuplicateKey(error)) throw new DuplicateNameError(`The room name "${name}"`);
            throw error;
          }
        }),
      findById: (id) =>
        guard(async () => {
          if (!isId(id)) return null;
          const room = await Room.findById(id).lean<RoomDoc>();
          return room && toRoom(room);
        }),
      list: () => guard(async () => (await Room.find().sort({ createdAt: 1, _id: 1 }).lean<RoomDoc[]>()).map(toRoom)),
    },
    messages: {
      add: (input) =>
        guard(() =>
          insertOrFind(
            async () => toMessage((await Message.create({ ...input, createdAt: new Date() })).toObject()),
            async () => {
              const existing = await Message.findOne({ authorId: input.authorId, clientId: input.clientId }).lean<MessageDoc>();
              return existing && toMessage(existing);
            },
          ),
        ),
      page: (roomId, options) =>
        guard(async () => (isId(roomId) ? (await historyQuery(Message, roomId, options).lean<MessageDoc[]>()).map(toMessage) : [])),
    },
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

/**
 * A page of a room's history, newest first: served by HISTORY_INDEX, the
 * cursor continues strictly after (createdAt, _id) of the last message seen.
 */
export function historyQuery(Message: Models['Message'], roomId: string, { limit, before }: { limit: number; before?: HistoryCursor }) {
  const filter = before
    ? {
        roomId,
        $or: [{ createdAt: { $lt: before.createdAt } }, { createdAt: before.createdAt, _id: { $lt: new Types.ObjectId(before.id) } }],
      }
    : { roomId };
  return Message.find(filter).sort({ createdAt: -1, _id: -1 }).limit(limit);
}

const isId = (id: string) => /^[0-9a-f]{24}$/.test(id);

const toUser = (doc: UserDoc): UserRecord => ({
  id: doc._id.toHexString(),
  name: doc.name,
  avatar: doc.avatar ?? null,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
});

const toRoom = (doc: RoomDoc): RoomRecord => ({ id: doc._id.toHexString(), name: doc.name, createdAt: doc.createdAt });

const toMessage = (doc: MessageDoc): MessageRecord => ({
  id: doc._id.toHexString(),
  roomId: doc.roomId.toHexString(),
  authorId: doc.authorId.toHexString(),
  text: doc.text,
  clientId: doc.clientId,
  createdAt: doc.createdAt,
});
