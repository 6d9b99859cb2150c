import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Connection } from 'mongoose';
import type { Logger } from '../../lib/logger';
import { isDuplicateKey } from './connection';
import { LEGACY_HISTORY_INDEX, SEQ_INDEX, SEQ_INDEX_KEY, type Models } from './models';

const LOCKS_COLLECTION = 'migrations';
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
  if (indexes.some((index) => index.name === LEGACY_HISTORY_INDEX)) await Message.collection.dropIndex(LEGACY_HISTORY_INDEX);

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

async function withLock(connection: Connection, name: string, logger: Logger, run: () => Promise<void>): Promise<void> {
  const locks = connection.db!.collection<LockDoc>(LOCKS_COLLECTION);
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
