import { Types } from 'mongoose';
import { LIMITS } from '../../shared/protocol';
import type { ReadRecord, ReadRepository } from '../types';
import { guard, isDuplicateKey } from './connection';
import { isId, type Models, type ReadDoc } from './models';

/**
 * Read positions on MongoDB: one document per person and room, unique on the pair. Writes that
 * may create one insert it; two first writes at once collide on the index and the loser tries
 * again once, finding the winner's document. (FerretDB 1.x rewrites a whole document per
 * update, so there a mark and a mention landing at the same moment can undo each other.)
 */
export function createReadRepository({ Read }: Pick<Models, 'Read'>): ReadRepository {
  return {
    mark: (userId, roomId, seq) =>
      guard(async () => {
        if (!isId(userId) || !isId(roomId)) return { roomId, seq, mentions: [] };
        return retryOnceIfRaced(() => markRead(Read, userId, roomId, seq));
      }),
    list: (userId) =>
      guard(async () => {
        if (!isId(userId)) return [];
        return (await Read.find({ userId: new Types.ObjectId(userId) }).sort({ roomId: 1 }).lean<ReadDoc[]>()).map(toRead);
      }),
    addMention: (roomId, seq, userIds) =>
      guard(async () => {
        const people = [...new Set(userIds.filter(isId))];
        if (!isId(roomId) || people.length === 0) return;
        await retryOnceIfRaced(() => rememberMention(Read, roomId, seq, people));
      }),
  };
}

/**
 * Raises the position (`$max`: never back) where there is one, else inserts it; then forgets
 * the mentions it passed. Usually one round trip, two when it passed mentions.
 */
async function markRead(Read: Models['Read'], userId: string, roomId: string, seq: number): Promise<ReadRecord> {
  const key = { userId: new Types.ObjectId(userId), roomId: new Types.ObjectId(roomId) };
  // Inserted when missing, not upserted: FerretDB 1.x's findAndModify upserts are unreliable.
  const doc = await Read.findOneAndUpdate(key, { $max: { seq } }, { returnDocument: 'after' }).lean<ReadDoc>();
  if (!doc) {
    await Read.collection.insertOne({ ...key, seq, mentions: [] });
    return { roomId, seq, mentions: [] };
  }
  const passed = (doc.mentions ?? []).filter((m) => m <= doc.seq);
  // $pullAll by value: FerretDB 1.x ignores a `$pull` with a condition ({$lte: seq}).
  if (passed.length > 0) await Read.updateOne({ _id: doc._id }, { $pullAll: { mentions: passed } });
  return toRead(doc);
}

/**
 * One bulk write for everybody mentioned, two statements per person, in order: the first
 * creates a missing position just below the message (so it counts as unread), the second adds
 * the mention while the person has not read past it and remembers fewer than the limit. Neither
 * can fail on a full list or a read message: FerretDB 1.x runs a bulk write's statements in
 * order whatever `ordered` says and stops at the first error, so a statement that fails by
 * design (an upsert whose filter no longer matches hits the unique index) would drop the
 * mentions of everyone after it. Running it again is harmless: `$setOnInsert` and `$addToSet`.
 */
async function rememberMention(Read: Models['Read'], roomId: string, seq: number, userIds: readonly string[]): Promise<void> {
  const room = new Types.ObjectId(roomId);
  const full = `mentions.${LIMITS.mentionsRemembered - 1}`;
  await Read.collection.bulkWrite(
    userIds.flatMap((id) => {
      const userId = new Types.ObjectId(id);
      return [
        { updateOne: { filter: { userId, roomId: room }, update: { $setOnInsert: { seq: seq - 1 } }, upsert: true } },
        { updateOne: { filter: { userId, roomId: room, seq: { $lt: seq }, [full]: { $exists: false } }, update: { $addToSet: { mentions: seq } } } },
      ];
    }),
    { ordered: true },
  );
}

/** Runs a write that may insert once more when a concurrent first write took the unique key. */
async function retryOnceIfRaced<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    return write();
  }
}

/** Mentions at or below the position are read: only those above it are unread. */
const toRead = (doc: ReadDoc): ReadRecord => ({
  roomId: doc.roomId.toHexString(),
  seq: doc.seq ?? 0,
  mentions: (doc.mentions ?? []).filter((m) => m > (doc.seq ?? 0)).sort((a, b) => a - b),
});
