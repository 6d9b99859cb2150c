import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAppProcess, type AppProcess } from './helpers/app-process';
import { connect, expectOk, request, signIn, type ChatClient } from './helpers/client';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { uniqueId } from './helpers/net';

/** The built app (`node dist/main.js`) on MongoDB: what survives a restart, what replicas share. */

let ferret: FerretDB;
let volume: string;
const apps: AppProcess[] = [];
const sockets: ChatClient[] = [];
beforeAll(async () => {
  ferret = await startFerretDB();
  volume = await mkdtemp(path.join(tmpdir(), 'chat-mongo-app-'));
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(apps.map((app) => app.stop()));
  await ferret.destroy();
  await rm(volume, { recursive: true, force: true });
});

const start = async (env: Record<string, string>) => {
  const app = await startAppProcess({ STORAGE_VOLUME: volume, SESSION_SECRET: 'a-test-secret-of-32-characters!!', ...env }, { waitFor: 'readyz' });
  apps.push(app);
  return app;
};

const open = async (url: string, cookie: string) => {
  const socket = await connect(url, cookie);
  sockets.push(socket);
  return socket;
};

const joinRoom = async (socket: ChatClient, name: string) => {
  const { rooms } = expectOk(await request(socket, 'room:list'));
  const room = rooms.find((r) => r.name === name);
  if (!room) throw new Error(`no room ${name}`);
  return expectOk(await request(socket, 'room:join', { roomId: room.id }));
};

test('after a restart you are still signed in and the history is still there', async () => {
  const env = { MONGO_URL: ferret.url() };
  const first = await start(env);
  expect(first.output()).toContain('store: MongoDB (ferretdb)');
  const name = uniqueId('Pat');
  const { cookie, user } = await signIn(first.url, name);
  const socket = await open(first.url, cookie);
  const { room } = await joinRoom(socket, 'general');
  const text = `remember ${uniqueId()}`;
  expectOk(await request(socket, 'message:send', { roomId: room.id, text }));
  socket.close();
  expect(await first.stop()).toBe(0);

  const second = await start(env);
  const res = await fetch(`${second.url}/api/session`, { headers: { cookie } });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { user: { id: string } }).user.id).toBe(user.id);
  const again = await open(second.url, cookie);
  const joined = await joinRoom(again, 'general');
  expect(joined.room.id).toBe(room.id);
  expect(joined.messages.map((m) => [m.author.name, m.text])).toEqual([[name, text]]);
});

test('two app processes on one database see the same users, rooms and messages', async () => {
  const env = { MONGO_URL: ferret.url() };
  const [a, b] = await Promise.all([start(env), start(env)]);
  const name = uniqueId('Kim');
  const onA = await signIn(a.url, name);
  const onB = await signIn(b.url, name.toUpperCase());
  expect(onB.user.id).toBe(onA.user.id);

  const socketA = await open(a.url, onA.cookie);
  // A session made on one process is honoured by the other.
  const socketB = await open(b.url, onA.cookie);
  const roomName = uniqueId('room');
  expectOk(await request(socketA, 'room:create', { name: roomName }));
  const { room } = await joinRoom(socketB, roomName);
  await joinRoom(socketA, roomName);
  const sent = expectOk(await request(socketA, 'message:send', { roomId: room.id, text: 'from A' }));
  const seenOnB = await joinRoom(socketB, roomName);
  expect(seenOnB.messages.map((m) => m.id)).toEqual([sent.message.id]);
  expect((await request(socketB, 'room:create', { name: roomName.toUpperCase() })) as unknown).toMatchObject({
    ok: false,
    error: { code: 'ROOM_NAME_TAKEN' },
  });
});
