import { MongoClient, ObjectId, type Document } from 'mongodb';
import pino from 'pino';
import { silentLogger } from '../src/lib/logger';
import mongoose from 'mongoose';
import { createMessageWriter } from '../src/services/message-writer';
import { historyQuery } from '../src/store/mongo/messages';
import { connectMongoStore, type MongoStoreOptions } from '../src/store/mongo/store';
import { createModels, SEQ_INDEX } from '../src/store/mongo/models';
import type { Store } from '../src/store/types';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { freePort } from './helpers/net';

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

const options = (overrides: Partial<MongoStoreOptions> = {}): MongoStoreOptions => ({
  url: ferret.url(),
  sessionCleanup: 'auto',
  sessionTtlMs: 3_600_000,
  connect: { attempts: 1, initialDelayMs: 10 },
  ...overrides,
});

const open = async (opts: MongoStoreOptions, logger = silentLogger) => {
  const store = await connectMongoStore(opts, logger);
  stores.push(store);
  return store;
};

/** A plain driver client on the same database, to look at what the store wrote. */
const inspect = (url: string) => {
  const client = new MongoClient(url);
  clients.push(client);
  return client.db();
};

/** A pino logger that keeps its lines, to assert on what an operator would read. */
function recordingLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, messages: () => lines.map((l) => l.msg) };
}

describe('history query', () => {
  test('reads one page through the history index, never the whole room', async () => {
    const url = ferret.url();
    const store = await open(options({ url }));
    const author = await store.users.findOrCreateByName('Hist');
    const room = await store.rooms.create('busy');
    for (let i = 0; i < 60; i += 1) {
      await store.messages.append(room.id, [{ authorId: author.id, text: `m${i}`, clientId: `c${i}` }]);
    }
    const db = inspect(url);
    const indexes = await db.collection('messages').indexes();
    expect(indexes.find((i) => i.name === SEQ_INDEX)).toMatchObject({ key: { roomId: 1, seq: 1 }, unique: true });

    const newest = await store.messages.page(room.id, { limit: 20 });
    expect(newest).toHaveLength(20);
    const beforeSeq = newest.at(-1)!.seq;
    // The very query the store runs for an older page, explained on its own connection.
    const connection = await mongoose.createConnection(url).asPromise();
    const explain = (await historyQuery(createModels(connection).Message, room.id, { limit: 20, beforeSeq }).explain(
      'executionStats',
    )) as Document;
    await connection.close();
    const plan = summarize(explain);
    if (plan.server === 'mongodb') {
      // MongoDB: an index scan on the {roomId, seq} index and no in-memory sort.
      expect(plan.indexes).toEqual([SEQ_INDEX]);
      expect(plan.sortsInMemory).toBe(false);
    } else {
      // FerretDB 1.x on PostgreSQL pushes the room filter down but sorts in its own
      // memory (it never pushes ORDER BY/LIMIT for a filtered sort). What reaches the
      // app is still one page: the limit travels with the query.
      expect(plan).toMatchObject({ server: 'ferretdb', sortPushdown: false });
      expect(plan.command).toMatchObject({ sort: { seq: -1 }, limit: 20 });
    }
    expect(await store.messages.page(room.id, { limit: 20, beforeSeq })).toHaveLength(20);
  });
});

/** The parts of an explain answer that say how a query ran, on MongoDB or FerretDB. */
function summarize(explain: Document) {
  if (typeof explain.serverInfo?.ferretdbVersion === 'string') {
    return {
      server: 'ferretdb' as const,
      filterPushdown: explain.filterPushdown as boolean,
      sortPushdown: explain.sortPushdown as boolean,
      plan: explain.queryPlanner?.Plan as string[],
      command: explain.command as Document,
    };
  }
  const stages: Document[] = [];
  const walk = (stage: Document | undefined) => {
    if (!stage) return;
    stages.push(stage);
    walk(stage.inputStage);
    for (const s of stage.inputStages ?? []) walk(s);
  };
  walk(explain.queryPlanner.winningPlan.queryPlan ?? explain.queryPlanner.winningPlan);
  return {
    server: 'mongodb' as const,
    indexes: [...new Set(stages.filter((s) => s.stage === 'IXSCAN').map((s) => s.indexName as string))],
    sortsInMemory: stages.some((s) => s.stage === 'SORT'),
  };
}

describe('numbering under contention', () => {
  test('three replicas sending to one room at once get 1..n, round after round', async () => {
    const url = ferret.url(`contention-${Date.now()}`);
    const replicas = await Promise.all([1, 2, 3].map(() => open(options({ url }))));
    // Each replica sends through its own group-commit writer, as the app does.
    const writers = replicas.map((store) => createMessageWriter(store));
    const author = await replicas[0]!.users.findOrCreateByName('Burst');
    const room = await replicas[0]!.rooms.create('burst');
    // FerretDB 1.x's $inc can lose an update under such contention: numbers must still never repeat or skip.
    for (let round = 0; round < 4; round += 1) {
      const results = await Promise.all(
        Array.from({ length: 90 }, (_, i) => writers[i % 3]!.append(room.id, { authorId: author.id, text: `r${round} m${i}`, clientId: `r${round}-${i}` })),
      );
      const seqs = results.map((r) => r!.record.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: 90 }, (_, i) => round * 90 + i + 1));
    }
  });
});

describe('documents written before direct conversations, edits, mentions and read positions', () => {
  test('read with the new fields defaulted: a room without kind is public, a message without rev never changed', async () => {
    const url = ferret.url();
    const store = await open(options({ url }));
    const db = inspect(url);
    const author = await store.users.findOrCreateByName('Veteran');
    // The shapes the previous version wrote.
    const roomId = new ObjectId();
    const createdAt = new Date(Date.now() - 60_000);
    await db.collection('rooms').insertOne({ _id: roomId, name: 'old', nameKey: 'old', headSeq: 2, createdAt, updatedAt: createdAt });
    const old = [1, 2].map((seq) => ({
      _id: new ObjectId(),
      roomId,
      seq,
      authorId: new ObjectId(author.id),
      text: `old ${seq}`,
      clientId: `old-${seq}`,
      createdAt,
    }));
    await db.collection('messages').insertMany(old);

    const room = await store.rooms.findById(roomId.toHexString());
    expect(room).toEqual({ id: roomId.toHexString(), name: 'old', createdAt, headSeq: 2, headRev: 0, kind: 'public', members: [] });
    expect(await store.rooms.count()).toBe(1);
    expect(await store.rooms.list({ limit: 10 })).toEqual([room]);
    const other = await store.users.findOrCreateByName('Newcomer');
    await store.rooms.ensureDirect(author.id, other.id);
    expect(await store.rooms.count()).toBe(1);

    const defaults = { rev: 0, editedAt: null, deletedAt: null, mentions: [], reactions: [] };
    const [first] = await store.messages.since(roomId.toHexString(), { afterSeq: 0, limit: 1 });
    expect(first).toEqual({ id: old[0]!._id.toHexString(), roomId: roomId.toHexString(), seq: 1, authorId: author.id, text: 'old 1', clientId: 'old-1', createdAt, ...defaults });
    expect(await store.messages.findById(roomId.toHexString(), first!.id)).toEqual(first);
    expect((await store.messages.page(roomId.toHexString(), { limit: 1 }))[0]).toMatchObject({ seq: 2, ...defaults });

    // A missing rev is rev 0 to a change, too; the room's missing counter starts at 0.
    const edited = await store.messages.change(roomId.toHexString(), first!.id, 0, { text: 'old 1, edited', editedAt: new Date() });
    expect(edited).toMatchObject({ text: 'old 1, edited', rev: 1 });
    expect((await store.rooms.findById(roomId.toHexString()))!.headRev).toBe(1);
    expect(await store.messages.changedSince(roomId.toHexString(), { fromRev: 1, limit: 10 })).toEqual([edited]);
  });

  test('the new indexes exist: changes by room and rev, direct conversations by member, one read position per person and room', async () => {
    const url = ferret.url();
    await open(options({ url }));
    const db = inspect(url);
    const keys = async (collection: string) => (await db.collection(collection).indexes()).map((i) => ({ key: i.key, unique: i.unique ?? false }));
    expect(await keys('messages')).toContainEqual({ key: { roomId: 1, rev: 1 }, unique: false });
    expect(await keys('rooms')).toContainEqual({ key: { members: 1 }, unique: false });
    expect(await keys('reads')).toContainEqual({ key: { userId: 1, roomId: 1 }, unique: true });
    expect(await keys('mentions')).toContainEqual({ key: { userId: 1, roomId: 1, seq: 1 }, unique: true });
  });
});

describe('message changes', () => {
  test('a counter left behind (a lost $inc) is lifted: the new rev is still above the one read', async () => {
    const url = ferret.url();
    const store = await open(options({ url }));
    const author = await store.users.findOrCreateByName('Lag');
    const room = await store.rooms.create('lag');
    const [sent] = (await store.messages.append(room.id, [{ authorId: author.id, text: 'a', clientId: 'a' }]))!;
    let rev = 0;
    for (let i = 0; i < 3; i += 1) rev = (await store.messages.change(room.id, sent!.record.id, rev, { text: `a${i}` }))!.rev;
    expect(rev).toBe(3);
    // As if two of those counter steps had been lost.
    await inspect(url).collection('rooms').updateOne({ _id: new ObjectId(room.id) }, { $set: { headRev: 1 } });
    const next = await store.messages.change(room.id, sent!.record.id, rev, { text: 'b' });
    expect(next!.rev).toBe(4);
    expect((await store.rooms.findById(room.id))!.headRev).toBe(4);
    expect((await store.messages.change(room.id, sent!.record.id, 4, { text: 'c' }))!.rev).toBe(5);
  });

  test('a change is one counter step, one conditional update, and its claim taken and returned', async () => {
    const url = ferret.url();
    const store = await open(options({ url }));
    const author = await store.users.findOrCreateByName('Counted');
    const room = await store.rooms.create('counted');
    const [sent] = (await store.messages.append(room.id, [{ authorId: author.id, text: 'a', clientId: 'a' }]))!;

    const delta = async (run: () => Promise<unknown>) => {
      const before = await ferret.commands();
      await run();
      const after = await ferret.commands();
      return Object.fromEntries(Object.entries(after).filter(([k, v]) => v !== (before[k] ?? 0)).map(([k, v]) => [k, v - (before[k] ?? 0)]));
    };
    expect(await delta(() => store.messages.change(room.id, sent!.record.id, 0, { text: 'b' }))).toEqual({ findAndModify: 2, insert: 1, delete: 1 });
  });
});

describe('read positions', () => {
  test('a mention for several people is one insert (and one of the missing positions); a mark touches only the position', async () => {
    const url = ferret.url();
    const store = await open(options({ url }));
    const [ann, ben] = await Promise.all(['Ann', 'Ben'].map((n) => store.users.findOrCreateByName(n)));
    const room = await store.rooms.create('counted');
    await store.reads.mark(ann!.id, room.id, 0);
    // Mentions inserted while the positions are looked up; then Ben's, missing, inserted.
    expect(await commandsOf(() => store.reads.addMention(room.id, 1, [ann!.id, ben!.id]))).toEqual({ find: 1, insert: 2 });
    expect(await commandsOf(() => store.reads.addMention(room.id, 2, [ann!.id, ben!.id]))).toEqual({ find: 1, insert: 1 });
    // Raises the position, then forgets the mentions it passed while reading those above it.
    expect(await commandsOf(() => store.reads.mark(ben!.id, room.id, 1))).toEqual({ findAndModify: 1, delete: 1, find: 1 });
    expect(await store.reads.list(ben!.id)).toEqual([{ roomId: room.id, seq: 1, mentions: [2] }]);
    const db = inspect(url);
    expect(await db.collection('mentions').countDocuments({ userId: new ObjectId(ben!.id) })).toBe(1);
    // Separate documents: neither kind of write rewrites the other's.
    expect(await db.collection('reads').findOne({ userId: new ObjectId(ben!.id) }, { projection: { _id: 0 } })).toEqual({
      userId: new ObjectId(ben!.id),
      roomId: new ObjectId(room.id),
      seq: 1,
    });
  });

  test('a mention repeated (a retried call) leaves the others of the call stored', async () => {
    const url = ferret.url();
    const store = await open(options({ url }));
    const people = await Promise.all(['Ann', 'Ben', 'Cal', 'Dee'].map((n) => store.users.findOrCreateByName(n)));
    const room = await store.rooms.create('again');
    await store.reads.addMention(room.id, 5, [people[1]!.id, people[2]!.id]);
    await store.reads.addMention(room.id, 5, people.map((p) => p.id));
    for (const person of people) expect(await store.reads.list(person.id)).toEqual([{ roomId: room.id, seq: 4, mentions: [5] }]);
    expect(await inspect(url).collection('mentions').countDocuments({ roomId: new ObjectId(room.id) })).toBe(4);
  });
});

/** The data commands FerretDB served while `run` ran, by name. */
async function commandsOf(run: () => Promise<unknown>) {
  const before = await ferret.commands();
  await run();
  const after = await ferret.commands();
  return Object.fromEntries(Object.entries(after).filter(([k, v]) => v !== (before[k] ?? 0)).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

describe('sessions', () => {
  const call = <T>(run: (done: (error: unknown, value?: T) => void) => void) =>
    new Promise<T | undefined>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value))));
  const session = (expiresInMs: number) =>
    ({ cookie: { originalMaxAge: expiresInMs, expires: new Date(Date.now() + expiresInMs) }, userId: 'u' }) as never;

  test('on FerretDB, auto picks the interval clean-up; expired sessions are not honoured and get deleted', async () => {
    const url = ferret.url();
    const { logger, messages } = recordingLogger();
    // 0.005 minutes = 300 ms between clean-ups, so the test need not wait ten minutes.
    const store = await open(options({ url, sessionCleanupIntervalMinutes: 0.005 }), logger);
    expect(messages()).toContainEqual(expect.stringContaining('(ferretdb), expired sessions removed by an interval clean-up'));
    const sessions = store.createSessionStore();
    await call((done) => sessions.set('live', session(60_000), done));
    await call((done) => sessions.set('old', session(-1000), done));
    expect(await call((done) => sessions.get('old', done))).toBeNull();
    expect(await call((done) => sessions.get('live', done))).toMatchObject({ userId: 'u' });

    const collection = inspect(url).collection('sessions');
    const deadline = Date.now() + 5000;
    while ((await collection.countDocuments({ _id: 'old' as never })) > 0) {
      if (Date.now() > deadline) throw new Error('the expired session was not cleaned up');
      await new Promise((resolve) => setTimeout(resolve, 100)); // the clean-up runs on its own timer
    }
    expect(await collection.countDocuments({ _id: 'live' as never })).toBe(1);
  });

  test('MONGO_SESSION_CLEANUP=ttl on a server without TTL indexes is a clear boot error', async () => {
    await expect(open(options({ sessionCleanup: 'ttl' }))).rejects.toThrow(
      'MONGO_SESSION_CLEANUP=ttl, but this server (ferretdb) cannot create a TTL index: use MONGO_SESSION_CLEANUP=interval or auto',
    );
  });
});

describe('start-up', () => {
  test('retries with back-off, logging each attempt, and gives up with a clear error', async () => {
    const port = await freePort();
    const { logger, messages } = recordingLogger();
    const started = Date.now();
    await expect(
      open(
        options({ url: `mongodb://app:s3cret@127.0.0.1:${port}/chat`, connect: { attempts: 3, initialDelayMs: 50 }, serverSelectionTimeoutMS: 200 }),
        logger,
      ),
    ).rejects.toThrow(`Could not connect to MongoDB at mongodb://***@127.0.0.1:${port}/chat after 3 attempts`);
    expect(messages().filter((m) => m.includes('unreachable'))).toEqual([
      expect.stringContaining('(attempt 1/3)'),
      expect.stringContaining('(attempt 2/3)'),
    ]);
    expect(messages().join('\n')).toContain('retrying in 100 ms'); // the delay doubled
    expect(messages().join('\n')).not.toContain('s3cret');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  test('connects once the server comes up during the retries', async () => {
    await ferret.stop();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, {
      write: (line: string) => {
        lines.push(line);
        // The first failed attempt is the cue to bring the server up.
        if (line.includes('attempt 1/')) void ferret.start();
      },
    });
    const store = await open(options({ connect: { attempts: 20, initialDelayMs: 50 }, serverSelectionTimeoutMS: 300 }), logger);
    expect(await store.isReady()).toBe(true);
    expect(lines.some((l) => l.includes('unreachable'))).toBe(true);
  });
});
