import { silentLogger } from '../src/lib/logger';
import { connectMongoStore } from '../src/store/mongo/store';
import type { Store } from '../src/store/types';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

/**
 * What a send costs the database, counted by the MongoDB-protocol server itself
 * (FerretDB's per-command counters): the room's counter step and the insert, nothing
 * else; sends that arrive together for a room share both (group commit).
 */
let ferret: FerretDB;
let store: Store;
let app: TestServer;
let alice: ChatClient;
let bob: ChatClient;
let roomId: string;

beforeAll(async () => {
  ferret = await startFerretDB();
  store = await connectMongoStore(
    { url: ferret.url(), sessionCleanup: 'interval', sessionTtlMs: 3_600_000, connect: { attempts: 3, initialDelayMs: 50 } },
    silentLogger,
  );
  app = await startServer({ store, env: { MESSAGE_RATE_LIMIT: '1000' } });
  alice = await connect(app.url, (await signIn(app.url, 'Alice')).cookie);
  bob = await connect(app.url, (await signIn(app.url, 'Bob')).cookie);
  roomId = expectOk(await request(alice, 'room:create', { name: uniqueId('costs ') })).room.id;
  for (const socket of [alice, bob]) expectOk(await request(socket, 'room:join', { roomId }));
});
afterAll(async () => {
  alice?.close();
  bob?.close();
  await app?.close();
  await store?.close();
  await ferret?.destroy();
});

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).flatMap(([command, n]) => (n - (before[command] ?? 0) > 0 ? [[command, n - (before[command] ?? 0)]] : [])));

test('one send is one counter step and one insert: the room and the author are not read', async () => {
  const before = await ferret.commands();
  const delivered = nextEvent(bob, 'message');
  expectOk(await request(alice, 'message:send', { roomId, text: 'how much did this cost?' }));
  await delivered;
  expect(diff(await ferret.commands(), before)).toEqual({ findAndModify: 1, insert: 1 });
});

test('sends that arrive together share the counter step and the insert', async () => {
  const before = await ferret.commands();
  const acks = await Promise.all(Array.from({ length: 30 }, (_, i) => request(alice, 'message:send', { roomId, text: `burst ${i}` })));
  const seqs = acks.map((ack) => expectOk(ack).message.seq);
  // Numbered in the order they were sent, with no gap.
  expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => seqs[0]! + i));
  const used = diff(await ferret.commands(), before);
  expect(used.findAndModify).toBe(used.insert);
  expect(used.insert).toBeLessThan(30);
});
