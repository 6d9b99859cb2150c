import { setTimeout as delay } from 'node:timers/promises';
import { Types, type Collection } from 'mongoose';
import {
  StoreUnavailableError,
  type AppendedMessage,
  type MessageChange,
  type MessageRecord,
  type MessageRepository,
  type NewMessage,
} from '../types';
import { guard } from './connection';
import { isId, type MessageDoc, type Models } from './models';

/** Messages on MongoDB: numbered per room with the insert, read by seq in both directions. */
export function createMessageRepository({ Room, Message }: Pick<Models, 'Room' | 'Message'>): MessageRepository {
  return {
    append: (roomId, inputs) => guard(async () => (isId(roomId) ? appendMessages(Room, Message, roomId, inputs) : null)),
    page: (roomId, { limit, beforeSeq }) =>
      guard(async () => (isId(roomId) ? (await historyQuery(Message, roomId, { limit, beforeSeq }).lean<MessageDoc[]>()).map(toMessage) : [])),
    since: (roomId, { limit, afterSeq }) =>
      guard(async () =>
        isId(roomId)
          ? (await Message.find({ roomId, seq: { $gt: afterSeq } }).sort({ seq: 1 }).limit(limit).lean<MessageDoc[]>()).map(toMessage)
          : [],
      ),
    findById: (roomId, messageId) =>
      guard(async () => {
        if (!isId(roomId) || !isId(messageId)) return null;
        const message = await Message.findOne({ _id: messageId, roomId }).lean<MessageDoc>();
        return message && toMessage(message);
      }),
    change: (roomId, messageId, expectedRev, change) =>
      guard(async () => (isId(roomId) && isId(messageId) ? changeMessage(Room, Message, roomId, messageId, expectedRev, change) : null)),
    // A never-changed message (rev 0) is no change: from rev 1 at the lowest.
    changedSince: (roomId, { fromRev, limit }) =>
      guard(async () =>
        isId(roomId)
          ? (await Message.find({ roomId, rev: { $gte: Math.max(1, fromRev) } }).sort({ rev: 1, seq: 1 }).limit(limit).lean<MessageDoc[]>()).map(toMessage)
          : [],
      ),
  };
}

/**
 * One counter step on the room, then one update that applies only while the message still has
 * the rev its author read (older messages have no rev: 0 matches a missing one too). The new
 * rev is the counter's value, but always above `expectedRev`: FerretDB 1.x's `$inc` can lose
 * an update under concurrency and leave the counter behind revs it handed out, so it is then
 * lifted to the rev used (before the write, so later changes number past it). On FerretDB 1.x
 * the condition is not atomic (it reads, then rewrites the document by _id): two changes from
 * one rev at the same moment can both apply, the later overwriting the earlier.
 */
async function changeMessage(
  Room: Models['Room'],
  Message: Models['Message'],
  roomId: string,
  messageId: string,
  expectedRev: number,
  change: MessageChange,
): Promise<MessageRecord | null> {
  const room = await Room.findOneAndUpdate({ _id: roomId }, { $inc: { headRev: 1 } }, { returnDocument: 'after', timestamps: false }).lean<{
    headRev: number;
  }>();
  if (!room) return null;
  const rev = Math.max(room.headRev, expectedRev + 1);
  if (rev > room.headRev) await Room.updateOne({ _id: roomId }, { $max: { headRev: rev } }, { timestamps: false });
  const fields = Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined));
  const claims = Message.db.collection<{ _id: string; at: Date }>(CLAIMS);
  const claimId = `${messageId}:${expectedRev}`;
  if (!(await claim(claims, claimId))) return null;
  const updated = await Message.findOneAndUpdate(
    { _id: messageId, roomId, rev: expectedRev === 0 ? { $in: [0, null] } : expectedRev },
    { $set: { ...fields, rev } },
    { returnDocument: 'after' },
  ).lean<MessageDoc>();
  // The claim has done its work either way (the message moved past expectedRev, or is gone):
  // deleted now, so claims never pile up.
  await claims.deleteOne({ _id: claimId });
  return updated && toMessage(updated);
}

/**
 * One change per message and rev. The conditional update alone is enough on MongoDB, but
 * FerretDB 1.x applies an update by reading the document and writing it back whole, so two
 * changes read at the same rev could both pass the condition and the later write would drop
 * the earlier one (a lost reaction or edit). Inserting `<message id>:<rev>` into a collection
 * keyed by it lets exactly one through on both; the other reads the message again.
 */
const CLAIMS = 'message_claims';
/** A claim whose change never landed (the database failed in between) is taken over after this. */
const CLAIM_STALE_MS = 30_000;

async function claim(claims: Collection<{ _id: string; at: Date }>, id: string): Promise<boolean> {
  try {
    await claims.insertOne({ _id: id, at: new Date() });
    return true;
  } catch (error) {
    if ((error as { code?: number }).code !== 11000) throw error;
    await claims.deleteOne({ _id: id, at: { $lt: new Date(Date.now() - CLAIM_STALE_MS) } });
    return false;
  }
}

/** A page of a room's history, newest first, below `beforeSeq`: served by the `{roomId, seq}` index. */
export function historyQuery(Message: Models['Message'], roomId: string, { limit, beforeSeq }: { limit: number; beforeSeq?: number }) {
  const filter = beforeSeq === undefined ? { roomId } : { roomId, seq: { $lt: beforeSeq } };
  return Message.find(filter).sort({ seq: -1 }).limit(limit);
}

/** How often a batch whose numbers another writer also got is numbered again. */
const SEQ_COLLISION_RETRIES = 10;

/**
 * Numbers the batch with one counter step and inserts it in one command. Messages marked
 * `resend` are looked up first, so a stored one costs no number (no gap). A unique-index
 * collision is then either an unmarked resend (the (author, clientId) pair is stored: that
 * message is returned, its reserved number stays unused) or a number handed out twice:
 * MongoDB's `$inc` is atomic, FerretDB 1.x's can lose an update under concurrency and fall
 * back onto numbers already handed out. The collided messages are then numbered again from
 * past the room's highest stored seq (and past the numbers this attempt used), and the
 * counter is lifted there too. Numbers below the highest one handed out are all taken or
 * being inserted, so this leaves no gap.
 */
async function appendMessages(
  Room: Models['Room'],
  Message: Models['Message'],
  roomId: string,
  inputs: readonly NewMessage[],
): Promise<AppendedMessage[] | null> {
  const results: (AppendedMessage | undefined)[] = new Array(inputs.length);
  let todo = inputs.map((_, index) => index);
  const maybeStored = todo.filter((index) => inputs[index]!.resend);
  if (maybeStored.length > 0) {
    const found = await findStored(Message, maybeStored.map((index) => inputs[index]!));
    for (const index of maybeStored) {
      const earlier = found.find((m) => m.authorId.toHexString() === inputs[index]!.authorId && m.clientId === inputs[index]!.clientId);
      if (earlier) results[index] = { record: toMessage(earlier), created: false };
    }
    todo = todo.filter((index) => !results[index]);
  }
  /** The lowest number not known to be taken, once an attempt collided. */
  let floor = 0;
  for (let attempt = 0; todo.length > 0; attempt += 1) {
    if (attempt > SEQ_COLLISION_RETRIES) throw new StoreUnavailableError(new Error(`room ${roomId}: its sequence kept colliding`));
    // Writers that collided step back a random, growing moment, so they stop colliding with each other.
    if (attempt > 0) await delay(Math.random() * Math.min(200, 4 * 2 ** attempt));
    // One round trip that both proves the room exists and reserves the batch's numbers.
    const room = await Room.findOneAndUpdate({ _id: roomId }, { $inc: { headSeq: todo.length } }, { returnDocument: 'after', timestamps: false }).lean<{
      headSeq: number;
    }>();
    if (!room) return null;
    const counted = room.headSeq - todo.length + 1;
    const first = Math.max(counted, floor);
    if (first > counted) await Room.updateOne({ _id: roomId }, { $max: { headSeq: first + todo.length - 1 } }, { timestamps: false });
    const createdAt = new Date();
    const docs = todo.map((inputIndex, index) => {
      const input = inputs[inputIndex]!;
      return {
        _id: new Types.ObjectId(),
        roomId: new Types.ObjectId(roomId),
        seq: first + index,
        authorId: new Types.ObjectId(input.authorId),
        text: input.text,
        clientId: input.clientId,
        createdAt,
        rev: 0,
        editedAt: null,
        deletedAt: null,
        mentions: (input.mentions ?? []).map((m) => ({ userId: new Types.ObjectId(m.userId), text: m.text })),
        reactions: [],
      };
    });
    const refused = await insertKeepingDuplicates(Message, docs);
    const stored = refused.size === 0 ? [] : await findStored(Message, [...refused].map((i) => ({ authorId: docs[i]!.authorId.toHexString(), clientId: docs[i]!.clientId })));
    const retry: number[] = [];
    docs.forEach((doc, index) => {
      const inputIndex = todo[index]!;
      if (!refused.has(index)) return void (results[inputIndex] = { record: toMessage(doc), created: true });
      const earlier = stored.find((m) => m.authorId.equals(doc.authorId) && m.clientId === doc.clientId);
      if (earlier) results[inputIndex] = { record: toMessage(earlier), created: false };
      else retry.push(inputIndex);
    });
    if (retry.length > 0) floor = Math.max(first + todo.length, (await highestSeq(Message, roomId)) + 1);
    todo = retry;
  }
  return results as AppendedMessage[];
}

/** The room's highest stored seq: where a counter that lost updates must resume. */
async function highestSeq(Message: Models['Message'], roomId: string): Promise<number> {
  const [latest] = await historyQuery(Message, roomId, { limit: 1 }).select({ seq: 1 }).lean<{ seq: number }[]>();
  return latest?.seq ?? 0;
}

function findStored(Message: Models['Message'], keys: readonly { authorId: string; clientId: string }[]) {
  return Message.find({ $or: keys.map((k) => ({ authorId: new Types.ObjectId(k.authorId), clientId: k.clientId })) }).lean<MessageDoc[]>();
}

/**
 * Inserts every document it can (unordered) and returns the indexes refused as duplicate
 * (author, clientId) pairs: a resend. Any other failure is thrown.
 */
async function insertKeepingDuplicates(Message: Models['Message'], docs: object[]): Promise<Set<number>> {
  try {
    await Message.collection.insertMany(docs, { ordered: false });
    return new Set();
  } catch (error) {
    const writeErrors = (error as { writeErrors?: { index: number; code: number }[] | { index: number; code: number } }).writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
    if (list.length === 0 || list.some((e) => e.code !== 11000)) throw error;
    return new Set(list.map((e) => e.index));
  }
}

/** Messages stored before edits, mentions and reactions lack those fields: they read as never changed. */
const toMessage = (doc: MessageDoc): MessageRecord => ({
  id: doc._id.toHexString(),
  roomId: doc.roomId.toHexString(),
  seq: doc.seq ?? 0,
  authorId: doc.authorId.toHexString(),
  text: doc.text ?? '',
  clientId: doc.clientId,
  createdAt: doc.createdAt,
  rev: doc.rev ?? 0,
  editedAt: doc.editedAt ?? null,
  deletedAt: doc.deletedAt ?? null,
  mentions: (doc.mentions ?? []).map((m) => ({ userId: m.userId.toHexString(), text: m.text })),
  reactions: (doc.reactions ?? []).map((r) => ({ emoji: r.emoji, userId: r.userId.toHexString() })),
});
