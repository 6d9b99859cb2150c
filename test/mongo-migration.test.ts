import { MongoClient, ObjectId } from 'mongodb';
import pino from 'pino';
import { createLimiters } from '../src/lib/limiters';
import { silentLogger, type Logger } from '../src/lib/logger';
import { createAccountService } from '../src/services/accounts';
import { connectMongoStore } from '../src/store/mongo/store';
import { LEGACY_HISTORY_INDEX, SEQ_INDEX } from '../src/store/mongo/models';
import { DuplicateNameError, nameKey, type Store } from '../src/store/types';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';

/**
 * Databases written by earlier versions: before messages had a `seq`, and before names were
 * keyed by their confusable skeleton. Replicas of the new version starting together migrate
 * them once.
 */
let ferret: FerretDB;
const stores: Store[] = [];
const clients: MongoClient[] = [];
beforeAll(async () => {
  ferret = await startFerretDB();
});
afterAll(async () => {
  await Promise.all([...stores.map((s) => s.close()), ...clients.map((c) => c.close())]);
  await ferret.destroy();
});

const open = async (url: string, logger: Logger = silentLogger) => {
  const store = await connectMongoStore(
    { url, sessionCleanup: 'interval', sessionTtlMs: 60_000, connect: { attempts: 1, initialDelayMs: 10 } },
    logger,
  );
  stores.push(store);
  return store;
};

/** A plain driver client on the same database, to write the old format and read what the store made of it. */
const inspect = (url: string) => {
  const client = new MongoClient(url);
  clients.push(client);
  return client.db();
};

/** The migration locks left behind (the `done:` markers stay). */
const locks = (db: ReturnType<typeof inspect>) => db.collection('migrations').countDocuments({ owner: { $exists: true } });

test('three replicas booting together number the old messages once, per room, in their old order', async () => {
  const url = ferret.url();
  const db = inspect(url);
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
  expect(await locks(db)).toBe(0); // the lock was released

  // A later boot finds nothing to do and changes nothing.
  await open(url);
  expect(await db.collection('messages').countDocuments({ seq: { $exists: false } })).toBe(0);
  expect((await first!.rooms.findById(rooms[0]!.toHexString()))!.headSeq).toBe(61);
});

test('three replicas booting together re-key old lower-case name keys by skeleton; the older of two lookalikes keeps the name', async () => {
  const url = ferret.url();
  const db = inspect(url);
  // The format before skeletons: nameKey was the NFC lower-case name; no lastSeenAt, passkeys or password.
  const day = (n: number) => new Date(Date.parse('2025-01-01T00:00:00Z') + n * 86_400_000);
  const oldDoc = (name: string, created: number) => ({
    _id: new ObjectId(),
    name,
    nameKey: name.normalize('NFC').toLocaleLowerCase('und'),
    createdAt: day(created),
    updatedAt: day(created),
  });
  // Ids in the opposite order of age: only createdAt may decide which is older.
  const [allce, aiice, alice, bob] = [oldDoc('allce', 3), oldDoc('AIice', 2), oldDoc('Alice', 1), oldDoc('Bob', 1)];
  await db.collection('users').insertMany([allce, aiice, alice, bob].map((u) => ({ ...u, avatar: null })));
  const [lookalikeRoom, general] = [oldDoc('g\u0435neral', 2), oldDoc('general', 1)]; // a Cyrillic е
  await db.collection('rooms').insertMany([lookalikeRoom, general]);
  await db.collection('messages').insertOne({ roomId: lookalikeRoom._id, authorId: aiice._id, text: 'hi', clientId: 'old-aiice', createdAt: day(2) });
  // The old unique indexes: every old key is distinct.
  await db.collection('users').createIndex({ nameKey: 1 }, { unique: true });
  await db.collection('rooms').createIndex({ nameKey: 1 }, { unique: true });

  const lines: { level: number; msg: string; name?: string; keptBy?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const bootedAt = new Date();
  const [store] = await Promise.all([open(url, logger), open(url, logger), open(url, logger)]);

  const keys = new Map((await db.collection('users').find().toArray()).map((u) => [u._id.toHexString(), u.nameKey]));
  expect(keys.get(alice._id.toHexString())).toBe(nameKey('Alice'));
  expect(keys.get(aiice._id.toHexString())).toBe(`${nameKey('Alice')}#${aiice._id.toHexString()}`);
  expect(keys.get(allce._id.toHexString())).toBe(`${nameKey('Alice')}#${allce._id.toHexString()}`);
  expect(keys.get(bob._id.toHexString())).toBe(nameKey('Bob'));
  // Logged once, by the replica that migrated: which names lost their key, and to whom.
  const collisions = lines.filter((l) => l.level === 40);
  expect(collisions.map((l) => [l.name, l.keptBy])).toEqual(
    expect.arrayContaining([
      ['AIice', alice._id.toHexString()],
      ['allce', alice._id.toHexString()],
      ['g\u0435neral', general._id.toHexString()],
    ]),
  );
  expect(collisions).toHaveLength(3);
  expect(await locks(db)).toBe(0);

  const accounts = createAccountService(store!, {
    toUser: (u) => ({ id: u.id, name: u.name, avatarUrl: null }),
    requireProtection: false,
    limiters: await createLimiters({ redisUrl: null, prefix: 'test' }, silentLogger),
  });
  // Any case is the old Alice herself, not a second Alice; lookalikes (the demoted AIice too) are taken.
  expect((await accounts.signIn('ALICE')).user.id).toBe(alice._id.toHexString());
  expect((await accounts.signIn('bob')).user.id).toBe(bob._id.toHexString());
  for (const lookalike of ['\u0410lice', 'AIice', 'allce']) {
    await expect(accounts.signIn(lookalike)).rejects.toMatchObject({ code: 'NAME_TAKEN' });
  }
  expect(await db.collection('users').countDocuments()).toBe(4);
  // The demoted user is still there under its own name, the author of its messages.
  expect((await store!.users.findById(aiice._id.toHexString()))!.name).toBe('AIice');
  const [message] = await store!.messages.since(lookalikeRoom._id.toHexString(), { afterSeq: 0, limit: 10 });
  expect(message!.authorId).toBe(aiice._id.toHexString());

  // Rooms: the old general is the general; the newer lookalike stays listed but blocks nothing new.
  expect((await store!.rooms.ensure('general')).id).toBe(general._id.toHexString());
  await expect(store!.rooms.create('g\u0435neral')).rejects.toBeInstanceOf(DuplicateNameError);
  expect((await store!.rooms.list({ limit: 10 })).map((r) => r.name)).toEqual(['general', 'g\u0435neral']);

  // Old users count as seen at the migration, not at their creation, and then expire like new ones.
  expect((await accounts.expireIdle(bootedAt)).users).toBe(0);
  expect((await accounts.expireIdle(new Date(Date.now() + 1000))).users).toBe(4);

  // One of the three replicas migrated; a later boot finds it done.
  await open(url, logger);
  expect(lines.filter((l) => l.msg.startsWith('store: re-keyed'))).toHaveLength(1);
  expect(lines.filter((l) => l.level === 40)).toHaveLength(3);
});
