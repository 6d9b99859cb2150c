import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Connection, mongo } from 'mongoose';
import type { Logger } from '../../lib/logger';
import { nameKey } from '../types';
import { isDuplicateKey } from './connection';
import { LEGACY_HISTORY_INDEX, SEQ_INDEX, SEQ_INDEX_KEY, type Models } from './models';

/** Lock documents while a migration runs, and a `done:<name>` document once one has finished. */
const MIGRATIONS_COLLECTION = 'migrations';
/** A lock whose owner has not renewed it for this long belongs to a replica that died mid-way. */
const LOCK_STALE_MS = 30_000;
const LOCK_RENEW_MS = 5_000;
const LOCK_POLL_MS = 250;
/** Updates per command: FerretDB 1.x stalls on update commands with a few dozen statements. */
const BATCH = 20;

interface LockDoc {
  _id: string;
  owner: string;
  renewedAt: Date;
}

interface DoneDoc {
  _id: string;
  doneAt: Date;
}

interface NamedDoc {
  _id: mongo.ObjectId;
  name: string;
  nameKey: string;
  createdAt?: Date;
}

/**
 * Numbers the messages stored before messages had a `seq`, room by room in their old
 * (createdAt, _id) order, then creates the unique `{roomId, seq}` index. Runs at every boot
 * and costs one query when there is nothing to do. Replicas that start together take turns
 * through a lock document: one numbers, the others wait for it and then find nothing left.
 */
export async function migrateMessageSeq(connection: Connection, { Message, Room }: Models, logger: Logger): Promise<void> {
  const pending = () => Message.collection.findOne({ seq: { $exists: false } }, { projection: { _id: 1 } });
  if (await pending()) {
    await withLock(connection, 'message-seq', logger, async () => {
      if (!(await pending())) return; // another replica did it while this one waited
      const roomIds = await Message.collection.distinct('roomId', { seq: { $exists: false } });
      let numbered = 0;
      for (const roomId of roomIds) numbered += await numberRoom(roomId);
      logger.info({ rooms: roomIds.length, messages: numbered }, 'store: numbered older messages with their room sequence');
    });
  }
  await Message.collection.createIndex(SEQ_INDEX_KEY, { name: SEQ_INDEX, unique: true });
  const indexes = await Message.collection.indexes();
  if (indexes.some((index) => index.name === LEGACY_HISTORY_INDEX)) {
    // Replicas booting together may both see it: the one that finds it gone already is done too.
    await Message.collection.dropIndex(LEGACY_HISTORY_INDEX).catch((error: { code?: number; codeName?: string }) => {
      if (error.code !== 27 && error.codeName !== 'IndexNotFound') throw error;
    });
  }

  /** Continues after the room's highest seq, so a partly numbered room (a replica died mid-way) ends gap-free. */
  async function numberRoom(roomId: unknown): Promise<number> {
    const [highest] = await Message.collection
      .find({ roomId, seq: { $exists: true } }, { projection: { seq: 1 } })
      .sort({ seq: -1 })
      .limit(1)
      .toArray();
    let seq = typeof highest?.seq === 'number' ? highest.seq : 0;
    let count = 0;
    // Batch by batch, no cursor left open while writing (FerretDB blocks writes behind one).
    for (;;) {
      const batch = await Message.collection
        .find({ roomId, seq: { $exists: false } }, { projection: { _id: 1 } })
        .sort({ createdAt: 1, _id: 1 })
        .limit(BATCH)
        .toArray();
      if (batch.length === 0) break;
      await Message.collection.bulkWrite(
        batch.map((doc) => ({ updateOne: { filter: { _id: doc._id, seq: { $exists: false } }, update: { $set: { seq: ++seq } } } })),
        { ordered: true },
      );
      count += batch.length;
    }
    // The counter never goes back: max() keeps sends that raced an unfinished migration.
    await Room.collection.updateOne({ _id: roomId as never }, { $max: { headSeq: seq } });
    return count;
  }
}

/**
 * Re-keys users and rooms written when a name's key was its lower-case form: the key is now
 * its confusable skeleton (nameKey), and without this an upgraded database would let a second
 * "Alice" in beside the old one. Old users also get the fields their version did not write, so
 * the idle-account expiry (`lastSeenAt`, an empty `passkeys`) sees them. Runs once: a `done`
 * document makes later boots cost one query; replicas booting together take turns through the
 * lock, and a takeover after a crash starts again from the top (every step is idempotent).
 */
export async function migrateNameKeys(connection: Connection, { User, Room }: Models, logger: Logger): Promise<void> {
  const done = connection.db!.collection<DoneDoc>(MIGRATIONS_COLLECTION);
  const id = 'done:name-keys';
  if (await done.findOne({ _id: id })) return;
  await withLock(connection, 'name-keys', logger, async () => {
    if (await done.findOne({ _id: id })) return; // another replica did it while this one waited
    const now = new Date();
    const named = (model: typeof User | typeof Room) => connection.db!.collection<NamedDoc>(model.collection.collectionName);
    const users = await rekey(named(User), 'user', logger);
    const rooms = await rekey(named(Room), 'room', logger);
    const seen = await User.collection.updateMany({ lastSeenAt: { $exists: false } }, { $set: { lastSeenAt: now } });
    await User.collection.updateMany({ passkeys: { $exists: false } }, { $set: { passkeys: [] } });
    await done.insertOne({ _id: id, doneAt: now });
    logger.info({ users, rooms, lastSeenAtSet: seen.modifiedCount }, 'store: re-keyed user and room names by their confusable skeleton');
  });
}

/**
 * Sets every document's nameKey to the skeleton of its name. Of documents whose names now share
 * a skeleton, the oldest (createdAt, then _id) keeps it; the others get `<skeleton>#<id>`, a key
 * no sign-in produces (names have no `#`), so they keep their id, name and messages but can no
 * longer be signed in to. Returns how many keys changed.
 */
async function rekey(collection: mongo.Collection<NamedDoc>, what: 'user' | 'room', logger: Logger): Promise<number> {
  // Read whole before writing: FerretDB blocks writes behind an open cursor. Direct
  // conversations have no name: their key is their two members (users have no kind).
  const docs = await collection.find({ kind: { $ne: 'direct' } }, { projection: { name: 1, nameKey: 1, createdAt: 1 } }).toArray();
  const age = (doc: NamedDoc) => (doc.createdAt ?? doc._id.getTimestamp()).getTime();
  docs.sort((a, b) => age(a) - age(b) || a._id.toHexString().localeCompare(b._id.toHexString()));
  const keeper = new Map<string, NamedDoc>();
  const changes: { _id: mongo.ObjectId; parked: string; key: string }[] = [];
  for (const doc of docs) {
    const skeleton = nameKey(doc.name);
    const parked = `${skeleton}#${doc._id.toHexString()}`;
    const first = keeper.get(skeleton);
    if (!first) keeper.set(skeleton, doc);
    const key = first ? parked : skeleton;
    if (doc.nameKey === key) continue;
    if (first) {
      logger.warn(
        { [what]: doc._id.toHexString(), name: doc.name, keptBy: first._id.toHexString(), keptName: first.name, key },
        `store: the ${what} name "${doc.name}" now looks the same as the older "${first.name}", which keeps it; this one can no longer be signed in to or found by name`,
      );
    }
    changes.push({ _id: doc._id, parked, key });
  }
  // In two steps, as the unique index holds at every write: each changing document first moves
  // to its own `#<id>` key, which frees every plain skeleton for the oldest of its names.
  await setKeys(collection, changes.map((c) => ({ _id: c._id, key: c.parked })));
  await setKeys(collection, changes.filter((c) => c.key !== c.parked));
  return changes.length;
}

async function setKeys(collection: mongo.Collection<NamedDoc>, keys: { _id: mongo.ObjectId; key: string }[]): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH) {
    await collection.bulkWrite(
      keys.slice(i, i + BATCH).map(({ _id, key }) => ({ updateOne: { filter: { _id }, update: { $set: { nameKey: key } } } })),
      { ordered: true },
    );
  }
}

async function withLock(connection: Connection, name: string, logger: Logger, run: () => Promise<void>): Promise<void> {
  const locks = connection.db!.collection<LockDoc>(MIGRATIONS_COLLECTION);
  const owner = randomUUID();
  let waiting = false;
  for (;;) {
    // Waiters only read until the lock is free: writes behind a running migration slow it down.
    const holder = await locks.findOne({ _id: name });
    if (!holder) {
      try {
        await locks.insertOne({ _id: name, owner, renewedAt: new Date() });
        break;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
    } else if (Date.now() - holder.renewedAt.getTime() > LOCK_STALE_MS) {
      // Its owner died: take it over only if nobody else did in between.
      const taken = await locks.updateOne({ _id: name, owner: holder.owner }, { $set: { owner, renewedAt: new Date() } });
      if (taken.modifiedCount === 1) break;
    }
    if (!waiting) logger.info(`store: waiting for another replica to finish the "${name}" migration`);
    waiting = true;
    await delay(LOCK_POLL_MS);
  }
  const renew = setInterval(() => {
    locks.updateOne({ _id: name, owner }, { $set: { renewedAt: new Date() } }).catch(() => {});
  }, LOCK_RENEW_MS);
  try {
    await run();
  } finally {
    clearInterval(renew);
    await locks.deleteOne({ _id: name, owner });
  }
}
