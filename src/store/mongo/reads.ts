import { Types } from 'mongoose';
import { LIMITS } from '../../shared/protocol';
import type { ReadRecord, ReadRepository } from '../types';
import { guard, isDuplicateKey } from './connection';
import { isId, type MentionDoc, type Models, type ReadDoc } from './models';

type Key = { userId: Types.ObjectId; roomId: Types.ObjectId };

/**
 * Read positions and mentions on MongoDB, kept so that no document has two kinds of writers:
 * FerretDB 1.x applies an update by reading, changing and writing back the whole document,
 * so a mark and a mention updating one document at once could undo each other.
 * - A position (`reads`, one per person and room) is updated only by `mark` (`$max`); a
 *   mention only inserts it when missing, which never changes an existing one.
 * - A mention (`mentions`, one per person, room and seq) is only inserted and deleted.
 */
export function createReadRepository({ Read, Mention }: Pick<Models, 'Read' | 'Mention'>): ReadRepository {
  return {
    mark: (userId, roomId, seq) =>
      guard(async () => {
        if (!isId(userId) || !isId(roomId)) return { roomId, seq, mentions: [] };
        const key = { userId: new Types.ObjectId(userId), roomId: new Types.ObjectId(roomId) };
        const position = await retryOnceIfRaced(() => raisePosition(Read, key, seq));
        const [, stored] = await Promise.all([
          Mention.collection.deleteMany({ ...key, seq: { $lte: position.seq } }),
          Mention.find({ ...key, seq: { $gt: position.seq } }, { seq: 1 })
            .sort({ seq: -1 })
            .limit(LIMITS.mentionsRemembered)
            .lean<Pick<MentionDoc, 'seq'>[]>(),
        ]);
        return { roomId, seq: position.seq, mentions: unread(position.seq, stored.map((m) => m.seq)) };
      }),
    list: (userId) =>
      guard(async () => {
        if (!isId(userId)) return [];
        const user = new Types.ObjectId(userId);
        const [positions, mentions] = await Promise.all([
          Read.find({ userId: user }).lean<ReadDoc[]>(),
          Mention.find({ userId: user }, { roomId: 1, seq: 1 }).lean<Pick<MentionDoc, 'roomId' | 'seq'>[]>(),
        ]);
        const byRoom = new Map<string, { position?: ReadDoc; seqs: number[] }>();
        const room = (id: Types.ObjectId) => byRoom.get(id.toHexString()) ?? byRoom.set(id.toHexString(), { seqs: [] }).get(id.toHexString())!;
        for (const doc of positions) room(doc.roomId).position = doc;
        for (const doc of mentions) room(doc.roomId).seqs.push(doc.seq);
        return [...byRoom]
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([roomId, { position, seqs }]): ReadRecord => {
            // Mentioned, but the position's insert has not landed (yet): just before the first.
            const seq = position ? (position.seq ?? 0) : seqs.reduce((a, b) => Math.min(a, b)) - 1;
            return { roomId, seq, mentions: unread(seq, seqs) };
          });
      }),
    addMention: (roomId, seq, userIds) =>
      guard(async () => {
        const people = [...new Set(userIds.filter(isId))].map((id) => new Types.ObjectId(id));
        if (!isId(roomId) || people.length === 0) return;
        const room = new Types.ObjectId(roomId);
        const [existing] = await Promise.all([
          Read.find({ roomId: room, userId: { $in: people } }, { userId: 1 }).lean<Pick<ReadDoc, 'userId'>[]>(),
          insertIgnoringDuplicates(Mention.collection, people.map((userId) => ({ userId, roomId: room, seq }))),
        ]);
        // A position just before the message, so it counts as unread. Inserted, never upserted:
        // an upsert that finds the document (one inserted since) rewrites it, racing with mark.
        const known = new Set(existing.map((doc) => doc.userId.toHexString()));
        const missing = people.filter((userId) => !known.has(userId.toHexString()));
        if (missing.length > 0) await insertIgnoringDuplicates(Read.collection, missing.map((userId) => ({ userId, roomId: room, seq: seq - 1 })));
      }),
  };
}

/**
 * Raises the position (`$max`: never back) where there is one, else inserts it. Not a
 * findAndModify upsert: FerretDB 1.x returns no document from those.
 */
async function raisePosition(Read: Models['Read'], key: Key, seq: number): Promise<Pick<ReadDoc, 'seq'>> {
  const doc = await Read.findOneAndUpdate(key, { $max: { seq } }, { returnDocument: 'after' }).lean<ReadDoc>();
  if (doc) return doc;
  await Read.collection.insertOne({ ...key, seq });
  return { seq };
}

/**
 * Inserts the documents, skipping those a unique index says exist already (a retried
 * mention, a position inserted meanwhile). Unordered; should a server stop at the first
 * error anyway, the ones after it are inserted in another round.
 */
async function insertIgnoringDuplicates(collection: Models['Read']['collection'], docs: object[]): Promise<void> {
  let rest = docs;
  while (rest.length > 0) {
    try {
      await collection.insertMany(rest, { ordered: false });
      return;
    } catch (error) {
      const writeErrors = (error as { writeErrors?: { index: number; code: number }[] | { index: number; code: number } }).writeErrors;
      const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
      if (list.length === 0 || list.some((e) => e.code !== 11000)) throw error;
      const inserted = (error as { insertedCount?: number }).insertedCount ?? 0;
      if (inserted + list.length >= rest.length) return;
      rest = rest.slice(Math.max(...list.map((e) => e.index)) + 1);
    }
  }
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

/**
 * The unread mentions: above the position, each once, ascending, the newest
 * LIMITS.mentionsRemembered. Storage may hold more, and stale ones a late insert left behind.
 */
const unread = (position: number, seqs: readonly number[]): number[] =>
  [...new Set(seqs.filter((s) => s > position))].sort((a, b) => a - b).slice(-LIMITS.mentionsRemembered);
