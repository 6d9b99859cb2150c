import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAppProcess, type AppProcess } from '../helpers/app-process';
import { connect, expectOk, nextEvent, request, type ChatClient } from '../helpers/client';
import { startFerretDB, type FerretDB } from '../helpers/ferretdb';
import { startHAProxy, type LoadBalancer } from '../helpers/haproxy';
import { uniqueId } from '../helpers/net';

/**
 * Why the deployments pin clients with a cookie: three real replicas (Redis
 * between them, one MongoDB) behind a real load balancer, clients forced onto
 * Socket.IO's HTTP long-polling. Sticky, people on different replicas chat;
 * round-robin without the cookie, the polling session cannot even open.
 * Needs dist/ (npm run build:server), Redis on 6379, FerretDB and HAProxy.
 */

jest.setTimeout(90_000);

/** A browser's cookie jar, reduced to name=value pairs. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  store(res: Response) {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  has(name: string) {
    return this.cookies.has(name);
  }
  header() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

interface Person {
  jar: CookieJar;
  instance: string;
  socket?: ChatClient;
}

async function signInVia(lb: LoadBalancer, name: string): Promise<Person> {
  const jar = new CookieJar();
  const res = await fetch(`${lb.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  jar.store(res);
  const body = (await res.json()) as { server: { instance: string } };
  return { jar, instance: body.server.instance };
}

async function whoServes(lb: LoadBalancer, jar: CookieJar): Promise<string> {
  const res = await fetch(`${lb.url}/api/session`, { headers: { cookie: jar.header() } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { server: { instance: string } }).server.instance;
}

let ferret: FerretDB;
let uploads: string;
const replicas: AppProcess[] = [];
const balancers: LoadBalancer[] = [];
const sockets: ChatClient[] = [];

beforeAll(async () => {
  ferret = await startFerretDB();
  uploads = await mkdtemp(path.join(tmpdir(), 'sticky-uploads-'));
  const shared = {
    MONGO_URL: ferret.url(),
    REDIS_URL: 'redis://127.0.0.1:6379',
    BROKER_PREFIX: uniqueId('sticky'),
    SESSION_SECRET: 'sticky-test-session-secret-0123456789',
    STORAGE_VOLUME: uploads,
    LOG_LEVEL: 'warn',
  };
  // One replica first, so it creates the default room alone; then the others.
  replicas.push(await startAppProcess({ ...shared, INSTANCE_NAME: 'replica-1' }, { waitFor: 'readyz' }));
  replicas.push(
    ...(await Promise.all([2, 3].map((n) => startAppProcess({ ...shared, INSTANCE_NAME: `replica-${n}` }, { waitFor: 'readyz' })))),
  );
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(balancers.map((lb) => lb.stop()));
  await Promise.all(replicas.map((r) => r.stop()));
  await ferret?.destroy();
  if (uploads) await rm(uploads, { recursive: true, force: true });
});

const backends = () => replicas.map((r, i) => ({ name: `replica-${i + 1}`, port: r.port }));

test('sticky cookie: each client stays on its replica, and people on different replicas chat over long-polling', async () => {
  const lb = await startHAProxy(backends(), { sticky: true });
  balancers.push(lb);

  const alice = await signInVia(lb, 'Alice');
  const bob = await signInVia(lb, 'Bob');
  expect(alice.jar.has(lb.cookieName!)).toBe(true);
  expect(alice.jar.has('chat.sid')).toBe(true);
  // Round-robin put them on different replicas; the cookie keeps them there.
  expect(alice.instance).not.toBe(bob.instance);
  for (let i = 0; i < 4; i++) expect(await whoServes(lb, alice.jar)).toBe(alice.instance);

  for (const person of [alice, bob]) {
    person.socket = await connect(lb.url, person.jar.header(), { transports: ['polling'] });
    sockets.push(person.socket);
    expect(person.socket.io.engine.transport.name).toBe('polling');
  }
  const general = expectOk(await request(alice.socket!, 'room:list')).rooms.find((r) => r.name === 'general')!;
  expectOk(await request(alice.socket!, 'room:join', { roomId: general.id }));
  expectOk(await request(bob.socket!, 'room:join', { roomId: general.id }));

  const received = nextEvent(bob.socket!, 'message', (m) => m.text === 'hello across replicas');
  const sent = expectOk(await request(alice.socket!, 'message:send', { roomId: general.id, text: 'hello across replicas' }));
  expect((await received).id).toBe(sent.message.id);

  const reply = nextEvent(alice.socket!, 'message', (m) => m.text === 'and back');
  expectOk(await request(bob.socket!, 'message:send', { roomId: general.id, text: 'and back' }));
  expect((await reply).text).toBe('and back');
});

test('without the sticky cookie, round-robin breaks the long-polling session', async () => {
  const lb = await startHAProxy(backends(), { sticky: false });
  balancers.push(lb);
  const carol = await signInVia(lb, 'Carol');

  // What happens underneath: the handshake's session id is known to one replica only.
  const open = await fetch(`${lb.url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: carol.jar.header() } });
  expect(open.status).toBe(200);
  const sid = /"sid":"([^"]+)"/.exec(await open.text())![1]!;
  const followUps = await Promise.all(
    [1, 2].map(async () => {
      const res = await fetch(`${lb.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
        method: 'POST',
        headers: { cookie: carol.jar.header(), 'content-type': 'text/plain;charset=UTF-8' },
        body: '40',
      });
      return { status: res.status, body: await res.text() };
    }),
  );
  expect(followUps).toContainEqual({ status: 400, body: expect.stringContaining('Session ID unknown') });

  // And so a real client cannot connect.
  await expect(connect(lb.url, carol.jar.header(), { transports: ['polling'] })).rejects.toThrow();
});
