import { MongoClient, ObjectId } from 'mongodb';
import { silentLogger } from '../src/lib/logger';
import { connectMongoStore } from '../src/store/mongo/store';
import { LEGACY_HISTORY_INDEX, SEQ_INDEX } from '../src/store/mongo/models';
import type { Store } from '../src/store/types';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';

/**
 * A database written by the version before messages had a `seq`: replicas of the new
 * version starting together number the old messages once, in their old order.
 */
let ferret: FerretDB;
const stores: Store[] = [];
let client: MongoClient;
beforeAll(async () => {
  ferret = await startFerretDB();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await client?.close();
  await ferret.destroy();
});

const open = async (url: string) => {
  const store = await connectMongoStore(
    { url, sessionCleanup: 'interval', sessionTtlMs: 60_000, connect: { attempts: 1, initialDelayMs: 10 } },
    silentLogger,
  );
  stores.push(store);
  return store;
};

test('three replicas booting together number the old messages once, per room, in their old order', async () => {
  const url = ferret.url();
  client = new MongoClient(url);
  const db = client.db();
  const author = new ObjectId();
  await db.collection('users').insertOne({ _id: author, name: 'Old', nameKey: 'old', avatar: null, createdAt: new Date(), updatedAt: new Date() });
  const rooms = [new ObjectId(), new ObjectId()];
  await db.collection('rooms').insertMany(
    rooms.map((_id, i) => ({ _id, name: `old ${i}`, nameKey: `old ${i}`, createdAt: new Date(), updatedAt: new Date() })),
  );
  // The old shape: no seq, ordered by (createdAt, _id); inserted out of order, some sharing a timestamp.
  const base = Date.parse('2025-01-01T00:00:00Z');
  const old = Array.from({ length: 120 }, (_, i) => ({
    _id: new ObjectId(),
    roomId: rooms[i % 2]!,
    authorId: author,
    text: `old ${i}`,
    clientId: `old-${i}`,
    createdAt: new Date(base + Math.floor(i / 3) * 1000),
  }));
  await db.collection('messages').insertMany([...old].reverse());
  await db.collection('messages').createIndex({ roomId: 1, createdAt: -1, _id: -1 }, { name: LEGACY_HISTORY_INDEX });

  const [first] = await Promise.all([open(url), open(url), open(url)]);

  for (const [r, roomId] of rooms.entries()) {
    const expected = old.filter((m) => m.roomId.equals(roomId)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a._id.toHexString().localeCompare(b._id.toHexString()));
    const numbered = await first!.messages.since(roomId.toHexString(), { afterSeq: 0, limit: 100 });
    expect(numbered.map((m) => m.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(numbered.map((m) => m.text)).toEqual(expected.map((m) => m.text));
    expect((await first!.rooms.findById(roomId.toHexString()))!.headSeq).toBe(60);
    // New messages continue the sequence.
    const [next] = (await first!.messages.append(roomId.toHexString(), [{ authorId: author.toHexString(), text: `new ${r}`, clientId: `new-${r}` }]))!;
    expect(next!.record.seq).toBe(61);
  }
  const indexes = await db.collection('messages').indexes();
  expect(indexes.find((i) => i.name === SEQ_INDEX)).toMatchObject({ unique: true });
  expect(indexes.some((i) => i.name === LEGACY_HISTORY_INDEX)).toBe(false);
  expect(await db.collection('migrations').countDocuments()).toBe(0); // the lock was released

  // A later boot finds nothing to do and changes nothing.
  await open(url);
  expect(await db.collection('messages').countDocuments({ seq: { $exists: false } })).toBe(0);
  expect((await first!.rooms.findById(rooms[0]!.toHexString()))!.headSeq).toBe(61);
});
