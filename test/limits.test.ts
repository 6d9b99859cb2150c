import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryStore } from '../src/store/memory';
import { startAppProcess } from './helpers/app-process';
import { connect, expectOk, request, signIn } from './helpers/client';
import { brokerEnv } from './helpers/cluster';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

/** Resolves with everything the server wrote before it closed the connection. */
const closed = (socket: Socket) =>
  new Promise<string>((resolve) => {
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => {});
  });

describe('slow clients cannot hold connections', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startServer({ env: { HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '600' } });
  });
  afterAll(() => app.close());

  test('headers that never end are cut off with 408', async () => {
    const socket = tcpConnect(app.port, '127.0.0.1');
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(await closed(socket)).toMatch(/^HTTP\/1\.1 408/);
  });

  test('a body that never ends is cut off with 408', async () => {
    const socket = tcpConnect(app.port, '127.0.0.1');
    socket.write('POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na');
    expect(await closed(socket)).toMatch(/^HTTP\/1\.1 408/);
  });
});

describe('a replica outlives more idle connections than it has file descriptors', () => {
  const FILES = 256;
  /** Opens `count` connections that send half their headers, then nothing; resolves once each is open or refused. */
  const idleConnections = (port: number, count: number) =>
    Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<Socket>((resolve) => {
            const socket = tcpConnect(port, '127.0.0.1');
            socket.on('error', () => {});
            socket.once('connect', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', () => resolve(socket)));
            socket.once('close', () => resolve(socket));
          }),
      ),
    );
  /** Retries while the replica frees the descriptors of the connections just closed. */
  const fetchWithin = async (url: string, withinMs: number): Promise<Response> => {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return await fetch(url);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
  };

  test.each([
    ['MAX_CONNECTIONS unset, derived from the descriptor limit: the excess is refused before descriptors run out', {}, false],
    ['MAX_CONNECTIONS above the descriptor limit: descriptors run out, the replica stays up', { MAX_CONNECTIONS: '5000' }, true],
  ])('%s', async (_case, env: Record<string, string>, runsOut) => {
    // Slow-header cut-offs far away: the connections stay until the test closes them.
    const app = await startAppProcess({ ...env, HTTP_HEADERS_TIMEOUT_MS: '120000', HTTP_REQUEST_TIMEOUT_MS: '120000' }, { fileLimit: FILES });
    try {
      const sockets = await idleConnections(app.port, FILES + 100);
      // The cluster figures are sampled every second: several samples while the connections are held.
      await sleep(3000);
      expect(app.child.exitCode).toBeNull();
      // The process cannot hold them all: the rest were closed, by Node past maxConnections or by libuv when accept() failed.
      expect(sockets.filter((socket) => socket.destroyed).length).toBeGreaterThanOrEqual(100);
      const descriptors = readdirSync(`/proc/${app.child.pid}/fd`).length;
      if (runsOut) expect(descriptors).toBeGreaterThanOrEqual(FILES - 2);
      else expect(descriptors).toBeLessThan(FILES - 64);
      for (const socket of sockets) socket.destroy();
      expect((await fetchWithin(`${app.url}/healthz`, 5000)).status).toBe(200);
      expect(app.child.exitCode).toBeNull();
    } finally {
      await app.stop();
    }
  }, 60_000);
});

describe('rate limits hold across replicas (two replicas, one Redis)', () => {
  let a: TestServer, b: TestServer;
  beforeAll(async () => {
    // Sign-ins are limited per client address; both replicas see 127.0.0.1.
    const env = { ...brokerEnv('redis'), SIGNIN_RATE_LIMIT: '6' };
    [a, b] = await Promise.all([startServer({ env }), startServer({ env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  test('six sign-ins a minute in all: three on each replica, then both refuse', async () => {
    const statuses: number[] = [];
    for (const app of [a, b, a, b, a, b, a, b]) {
      const res = await fetch(`${app.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: uniqueId('Rl') }) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 429, 429]);
  });

  test('ten wrong passwords for one name in all, wherever they are tried', async () => {
    // A pair of its own (another broker prefix, so other counters) whose sign-in limit stays out of the way.
    const env = { ...brokerEnv('redis'), SIGNIN_RATE_LIMIT: '1000' };
    const store = createMemoryStore(); // one set of users for both
    const [c, d] = await Promise.all([startServer({ env, store }), startServer({ env, store })]);
    try {
      const name = uniqueId('Target');
      const post = (app: TestServer, password: string) =>
        fetch(`${app.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password }) });
      expect((await post(c, 'the real password')).status).toBe(201);
      const codes: string[] = [];
      for (let i = 0; i < 11; i++) codes.push(((await (await post(i % 2 ? c : d, `guess ${i} of many`)).json()) as { error: { code: string } }).error.code);
      expect(codes.slice(0, 10)).toEqual(Array(10).fill('WRONG_PASSWORD'));
      expect(codes[10]).toBe('RATE_LIMITED');
    } finally {
      await Promise.all([c.close(), d.close()]);
      await store.close();
    }
  });
});

describe('sockets per person and per address', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startServer({ env: { MAX_SOCKETS_PER_PERSON: '3', MAX_SOCKETS_PER_ADDRESS: '5' } });
  });
  afterAll(() => app.close());

  const handshake = (cookie: string) => fetch(`${app.url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie } });

  test('a fourth socket of one person is refused with TOO_MANY_CONNECTIONS; closing one makes room', async () => {
    const { cookie } = await signIn(app.url, uniqueId('Tabs'));
    const sockets = await Promise.all([1, 2, 3].map(() => connect(app.url, cookie)));
    const refused = await handshake(cookie);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toBe('TOO_MANY_CONNECTIONS: at most 3 connections per person; close a tab or window');
    const closed = new Promise((resolve) => sockets[0]!.once('disconnect', resolve));
    sockets[0]!.close();
    await closed;
    // The server notices the close when the transport ends; then a new socket fits.
    let again: Awaited<ReturnType<typeof connect>> | null = null;
    for (let attempt = 0; attempt < 50 && !again; attempt++) again = await connect(app.url, cookie).catch(() => null);
    expect(again?.connected).toBe(true);
    for (const socket of [...sockets, again!]) socket.close();
  });

  test('one address holds at most 5 sockets, whoever signs in', async () => {
    const sockets = [];
    for (let i = 0; i < 5; i++) sockets.push(await connect(app.url, (await signIn(app.url, uniqueId('Nat'))).cookie));
    const refused = await handshake((await signIn(app.url, uniqueId('Nat'))).cookie);
    expect(((await refused.json()) as { message: string }).message).toBe('TOO_MANY_CONNECTIONS: at most 5 connections per address');
    for (const socket of sockets) socket.close();
  });
});

describe.each([
  ['in memory', {}],
  ['in Redis', { RATE_LIMIT_REDIS_URL: 'redis://127.0.0.1:6379' }],
])('handshakes that never become connections give their socket slots back (%s)', (_where, limitsEnv) => {
  let app: TestServer;
  beforeEach(async () => {
    // A prefix of its own: nothing counted by another test (or run) in Redis is seen here.
    app = await startServer({ env: { ...limitsEnv, BROKER_PREFIX: uniqueId('slots-'), MAX_SOCKETS_PER_PERSON: '3', MAX_SOCKETS_PER_ADDRESS: '4' } });
  });
  afterEach(() => app.close());

  const upgrade = (cookie: string, key?: string) =>
    'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
    `Sec-WebSocket-Version: 13\r\n${key ? `Sec-WebSocket-Key: ${key}\r\n` : ''}Cookie: ${cookie}\r\n\r\n`;
  /** An upgrade ws refuses with 400 after the handshake was admitted (and counted). */
  const badUpgrade = async (cookie: string) => {
    const socket = tcpConnect(app.port, '127.0.0.1');
    socket.write(upgrade(cookie));
    expect(await closed(socket)).toMatch(/^HTTP\/1\.1 400/);
  };
  /** A valid upgrade whose client hangs up as soon as it is sent. */
  const abortedUpgrade = (cookie: string) =>
    new Promise<void>((resolve) => {
      const socket = tcpConnect(app.port, '127.0.0.1');
      socket.on('error', () => {});
      socket.write(upgrade(cookie, randomBytes(16).toString('base64')), () => {
        socket.destroy();
        resolve();
      });
    });
  /** Connects, retrying while the server is still releasing (at most `withinMs`, far below the 10 s provisional lease). */
  const connectWithin = async (cookie: string, transports: ('polling' | 'websocket')[], withinMs = 2000) => {
    const deadline = Date.now() + withinMs;
    for (;;) {
      try {
        return await connect(app.url, cookie, { transports });
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(50);
      }
    }
  };
  const refusal = async (cookie: string) => {
    const res = await fetch(`${app.url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie } });
    return ((await res.json()) as { message: string }).message;
  };

  test('per person: bad and aborted upgrades leave all three sockets to the person', async () => {
    const { cookie } = await signIn(app.url, uniqueId('Locked'));
    for (let i = 0; i < 3; i++) await badUpgrade(cookie);
    await Promise.all([1, 2, 3].map(() => abortedUpgrade(cookie)));
    // Polling and WebSocket: a finished handshake response must not give a live socket's slot back.
    const sockets = [await connectWithin(cookie, ['polling']), await connectWithin(cookie, ['websocket']), await connectWithin(cookie, ['polling'])];
    expect(await refusal(cookie)).toBe('TOO_MANY_CONNECTIONS: at most 3 connections per person; close a tab or window');
    for (const socket of sockets) socket.close();
  });

  test('per address: bad and aborted upgrades of several people leave the address its four sockets', async () => {
    const people = await Promise.all([1, 2, 3, 4, 5].map(async () => (await signIn(app.url, uniqueId('Nat'))).cookie));
    for (const cookie of people.slice(0, 4)) await badUpgrade(cookie);
    await Promise.all(people.slice(0, 4).map((cookie) => abortedUpgrade(cookie)));
    const sockets = [];
    for (const cookie of people.slice(0, 4)) sockets.push(await connectWithin(cookie, ['websocket']));
    expect(await refusal(people[4]!)).toBe('TOO_MANY_CONNECTIONS: at most 4 connections per address');
    for (const socket of sockets) socket.close();
  });
});

describe('realtime limits are per person and shared by replicas (Redis)', () => {
  let a: TestServer, b: TestServer;
  let store: ReturnType<typeof createMemoryStore>;
  beforeAll(async () => {
    store = createMemoryStore();
    const env = { ...brokerEnv('redis'), MESSAGE_RATE_LIMIT: '4', ROOM_RATE_LIMIT: '100', ROOM_RATE_LIMIT_TOTAL: '3', SESSION_SECRET: 'shared-secret-of-the-two-replicas-000' };
    [a, b] = await Promise.all([startServer({ env, store }), startServer({ env, store })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await store?.close();
  });

  test('one person sends at most MESSAGE_RATE_LIMIT messages per 10 s, counted over both replicas', async () => {
    const name = uniqueId('Fast');
    const onA = await connect(a.url, (await signIn(a.url, name)).cookie);
    const onB = await connect(b.url, (await signIn(b.url, name)).cookie);
    const roomId = expectOk(await request(onA, 'room:list')).rooms[0]!.id;
    expectOk(await request(onA, 'room:join', { roomId }));
    expectOk(await request(onB, 'room:join', { roomId }));
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      const ack = await request(i % 2 ? onB : onA, 'message:send', { roomId, text: `hello ${i}` });
      codes.push(ack.ok ? 'ok' : ack.error.code);
    }
    expect(codes).toEqual(['ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    onA.close();
    onB.close();
  });

  test('room creation is capped in total: three throwaway accounts on two replicas make three rooms, not more', async () => {
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      const app = i % 2 ? b : a;
      const socket = await connect(app.url, (await signIn(app.url, uniqueId('Throwaway'))).cookie);
      const ack = await request(socket, 'room:create', { name: uniqueId('Spam ') });
      results.push(ack.ok ? 'ok' : ack.error.code);
      socket.close();
    }
    expect(results).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
  });

  test('sockets per person are counted over both replicas', async () => {
    const env = { ...brokerEnv('redis'), MAX_SOCKETS_PER_PERSON: '3', SESSION_SECRET: 'shared-secret-of-the-two-replicas-000' };
    const [c, d] = await Promise.all([startServer({ env, store }), startServer({ env, store })]);
    try {
      const name = uniqueId('Everywhere');
      const onC = (await signIn(c.url, name)).cookie;
      const onD = (await signIn(d.url, name)).cookie;
      const sockets = [await connect(c.url, onC), await connect(c.url, onC), await connect(d.url, onD)];
      const refused = await fetch(`${d.url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: onD } });
      expect(((await refused.json()) as { message: string }).message).toMatch(/^TOO_MANY_CONNECTIONS: at most 3 connections per person/);
      for (const socket of sockets) socket.close();
    } finally {
      await Promise.all([c.close(), d.close()]);
    }
  });

  test('typing is limited per person: two tabs do not double the allowance', async () => {
    const name = uniqueId('Typist');
    const [tab1, tab2] = await Promise.all([a, b].map(async (app) => connect(app.url, (await signIn(app.url, name)).cookie)));
    const watcher = await connect(a.url, (await signIn(a.url, uniqueId('Watcher'))).cookie);
    const roomId = expectOk(await request(watcher, 'room:list')).rooms[0]!.id;
    for (const socket of [tab1!, tab2!, watcher]) expectOk(await request(socket, 'room:join', { roomId }));
    let seen = 0;
    watcher.on('typing', () => (seen += 1));
    for (let i = 0; i < 10; i++) {
      tab1!.emit('typing', { roomId, typing: true });
      tab2!.emit('typing', { roomId, typing: true });
    }
    // A marker from each tab after its burst: once both arrive, the relayed typing events have too.
    let markers = 0;
    const bothMarkers = new Promise((resolve) => watcher.on('message', () => ++markers === 2 && resolve(null)));
    expectOk(await request(tab1!, 'message:send', { roomId, text: 'done typing' }));
    expectOk(await request(tab2!, 'message:send', { roomId, text: 'done typing too' }));
    await bothMarkers;
    expect(seen).toBeLessThanOrEqual(10);
    expect(seen).toBeGreaterThan(0);
    for (const socket of [tab1!, tab2!, watcher]) socket.close();
  });
});

test('room:list is paged: at most 100 rooms (or `limit`) per answer, `nextCursor` continues', async () => {
  const app = await startServer({ env: { ROOM_RATE_LIMIT: '100', ROOM_RATE_LIMIT_TOTAL: '100' } });
  try {
    const socket = await connect(app.url, (await signIn(app.url, uniqueId('Pager'))).cookie);
    for (let i = 0; i < 4; i++) expectOk(await request(socket, 'room:create', { name: `Room ${i}` }));
    const first = expectOk(await request(socket, 'room:list', { limit: 2 }));
    expect(first.rooms.map((r) => r.name)).toEqual(['general', 'Room 0']);
    const second = expectOk(await request(socket, 'room:list', { after: first.nextCursor, limit: 2 }));
    expect(second.rooms.map((r) => r.name)).toEqual(['Room 1', 'Room 2']);
    const last = expectOk(await request(socket, 'room:list', { after: second.nextCursor, limit: 2 }));
    expect(last).toEqual({ ok: true, rooms: [expect.objectContaining({ name: 'Room 3' })], nextCursor: null });
    expect(expectOk(await request(socket, 'room:list')).rooms).toHaveLength(5); // no payload: the first page of 100
    expect(await request(socket, 'room:list', { limit: 1000 })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(socket, 'room:list', { after: 'bogus' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    socket.close();
  } finally {
    await app.close();
  }
});

test('MAX_ROOMS: past it no room is created, with TOO_MANY_ROOMS', async () => {
  const app = await startServer({ env: { MAX_ROOMS: '3', ROOM_RATE_LIMIT: '100', ROOM_RATE_LIMIT_TOTAL: '100' } });
  try {
    const socket = await connect(app.url, (await signIn(app.url, uniqueId('Builder'))).cookie);
    expectOk(await request(socket, 'room:create', { name: 'second' })); // general is the first
    expectOk(await request(socket, 'room:create', { name: 'third' }));
    expect(await request(socket, 'room:create', { name: 'fourth' })).toEqual({
      ok: false,
      error: { code: 'TOO_MANY_ROOMS', message: 'This server has its 3 rooms: no more can be created' },
    });
    socket.close();
  } finally {
    await app.close();
  }
});
