import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startAppProcess, type AppProcess } from '../helpers/app-process';
import { connect, expectOk, nextEvent, request, type ChatClient } from '../helpers/client';
import { BROKER_URLS, brokerEnv, once, waitFor, type BrokerName } from '../helpers/cluster';
import { startFerretDB, type FerretDB } from '../helpers/ferretdb';
import { uniqueId } from '../helpers/net';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { fileProviderConfig, startTraefik, type Traefik } from './traefik';
import { composeConfig } from './tools';

/**
 * Real Traefik (scripts/ci/build-traefik.sh) in front of three real replicas (`node dist/main.js`)
 * on each broker, configured from the scalable compose file's own `traefik.*` labels: what
 * `docker compose -f docker-compose.<broker>.yaml up --scale app=3` puts in front of the chat.
 * Needs dist/ (npm test builds it), the machine's brokers and FerretDB.
 */

jest.setTimeout(120_000);

const COMPOSE_FILES: Record<BrokerName, string> = {
  redis: 'docker-compose.redis.yaml',
  rabbitmq: 'docker-compose.rabbit.yaml',
  nats: 'docker-compose.nats.yaml',
};

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
}

async function signInVia(baseUrl: string, name: string): Promise<Person> {
  const jar = new CookieJar();
  const res = await fetch(`${baseUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(201);
  jar.store(res);
  return { jar, instance: ((await res.json()) as { server: { instance: string } }).server.instance };
}

async function whoServes(baseUrl: string, jar: CookieJar): Promise<string> {
  const res = await fetch(`${baseUrl}/api/session`, { headers: { cookie: jar.header() } });
  expect(res.status).toBe(200);
  jar.store(res);
  return ((await res.json()) as { server: { instance: string } }).server.instance;
}

let ferret: FerretDB;
beforeAll(async () => {
  ferret = await startFerretDB();
});
afterAll(async () => {
  await ferret?.destroy();
});

describe.each(Object.keys(COMPOSE_FILES) as BrokerName[])('Traefik in front of 3 replicas on %s', (broker) => {
  const replicas: AppProcess[] = [];
  const sockets: ChatClient[] = [];
  const balancers: Traefik[] = [];
  let labels: Record<string, string>;
  let uploads: string;
  let thirdBrokerLink: TcpProxy;
  let traefik: Traefik;
  // Traefik's sticky cookie and service, named by the compose labels.
  let cookieName: string;
  let serviceName: string;

  beforeAll(async () => {
    const project = await composeConfig(COMPOSE_FILES[broker]);
    labels = project.services.app!.labels ?? {};
    cookieName = labels['traefik.http.services.chat.loadbalancer.sticky.cookie.name']!;
    serviceName = Object.keys(labels).find((k) => k.startsWith('traefik.http.services.'))!.split('.')[3]!;
    uploads = await mkdtemp(path.join(tmpdir(), 'traefik-uploads-'));
    const brokerUrl = new URL(BROKER_URLS[broker]);
    thirdBrokerLink = await startTcpProxy('127.0.0.1', Number(brokerUrl.port));
    const prefix = uniqueId(`traefik-${broker}-`);
    const shared = {
      MONGO_URL: ferret.url(uniqueId(`traefik${broker}`)),
      SESSION_SECRET: 'traefik-test-session-secret-0123456789',
      STORAGE_VOLUME: uploads,
      TRUST_PROXY: '1',
      LOG_LEVEL: 'warn',
    };
    const env = (n: number) => ({
      ...shared,
      ...brokerEnv(broker, { prefix, url: n === 3 ? thirdBrokerLink.url(BROKER_URLS[broker]) : undefined }),
      INSTANCE_NAME: `replica-${n}`,
    });
    // One replica first, so it creates the default room alone; then the others.
    replicas.push(await startAppProcess(env(1), { waitFor: 'readyz' }));
    replicas.push(...(await Promise.all([2, 3].map((n) => startAppProcess(env(n), { waitFor: 'readyz' })))));
    traefik = await startTraefik(fileProviderConfig(labels, replicas.map((r) => r.url)));
    balancers.push(traefik);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(balancers.map((lb) => lb.stop()));
    await Promise.all(replicas.map((r) => r.stop()));
    await thirdBrokerLink?.close();
    if (uploads) await rm(uploads, { recursive: true, force: true });
  });

  // Traefik listens on loopback; its router's rule wants Host(`localhost`), as in the compose setup.
  const viaTraefik = () => traefik.url.replace('127.0.0.1', 'localhost');

  test('the sticky cookie keeps each client on its replica; people on different replicas chat over long-polling', async () => {
    const alice = await signInVia(viaTraefik(), 'Alice');
    const bob = await signInVia(viaTraefik(), 'Bob');
    expect(alice.jar.has(cookieName)).toBe(true);
    expect(alice.jar.has('chat.sid')).toBe(true);
    // Round-robin put them on different replicas; the cookie keeps them there.
    expect(alice.instance).not.toBe(bob.instance);
    for (let i = 0; i < 4; i++) expect(await whoServes(viaTraefik(), alice.jar)).toBe(alice.instance);
    for (let i = 0; i < 4; i++) expect(await whoServes(viaTraefik(), bob.jar)).toBe(bob.instance);

    const [aliceSocket, bobSocket] = await Promise.all([alice, bob].map((p) => connect(viaTraefik(), p.jar.header(), { transports: ['polling'] })));
    sockets.push(aliceSocket!, bobSocket!);
    expect(aliceSocket!.io.engine.transport.name).toBe('polling');
    const general = expectOk(await request(aliceSocket!, 'room:list')).rooms.find((r) => r.name === 'general')!;
    expectOk(await request(aliceSocket!, 'room:join', { roomId: general.id }));
    expectOk(await request(bobSocket!, 'room:join', { roomId: general.id }));

    const received = nextEvent(bobSocket!, 'message', (m) => m.text === `hello across replicas on ${broker}`);
    const sent = expectOk(await request(aliceSocket!, 'message:send', { roomId: general.id, text: `hello across replicas on ${broker}` }));
    expect((await received).id).toBe(sent.message.id);
    const reply = nextEvent(aliceSocket!, 'message', (m) => m.text === 'and back');
    expectOk(await request(bobSocket!, 'message:send', { roomId: general.id, text: 'and back' }));
    expect((await reply).text).toBe('and back');
  });

  test('WebSocket upgrades pass and follow the cookie to the replica that holds the polling session', async () => {
    const carol = await signInVia(viaTraefik(), 'Carol');
    const dave = await signInVia(viaTraefik(), 'Dave');
    expect(carol.instance).not.toBe(dave.instance);
    // Polling first, then the upgrade: it succeeds only on the replica that opened the session.
    const [carolSocket, daveSocket] = await Promise.all(
      [carol, dave].map(async (p) => {
        const socket = await connect(viaTraefik(), p.jar.header(), { transports: ['polling', 'websocket'] });
        sockets.push(socket);
        if (socket.io.engine.transport.name !== 'websocket') await once(socket.io.engine as unknown as NodeJS.EventEmitter, 'upgrade');
        return socket;
      }),
    );
    expect(carolSocket!.io.engine.transport.name).toBe('websocket');
    expect(daveSocket!.io.engine.transport.name).toBe('websocket');
    const general = expectOk(await request(carolSocket!, 'room:list')).rooms.find((r) => r.name === 'general')!;
    expectOk(await request(carolSocket!, 'room:join', { roomId: general.id }));
    expectOk(await request(daveSocket!, 'room:join', { roomId: general.id }));
    const received = nextEvent(daveSocket!, 'message', (m) => m.text === 'over websockets');
    expectOk(await request(carolSocket!, 'message:send', { roomId: general.id, text: 'over websockets' }));
    expect((await received).text).toBe('over websockets');
  });

  test('a replica whose /readyz fails leaves the rotation, and its clients move to the others', async () => {
    const third = replicas[2]!;
    // Someone pinned to replica-3 (round-robin reaches it within three sign-ins).
    let erin: Person | undefined;
    for (let i = 0; i < 6 && erin?.instance !== 'replica-3'; i++) erin = await signInVia(viaTraefik(), `Erin${i}`);
    expect(erin!.instance).toBe('replica-3');

    // Its broker link breaks: it stays alive (/healthz) but is not ready.
    await thirdBrokerLink.refuse();
    thirdBrokerLink.drop();
    await waitFor(async () => (await fetch(`${third.url}/readyz`)).status === 503, 'replica-3 to report not ready');
    expect((await fetch(`${third.url}/healthz`)).status).toBe(200);
    await waitFor(async () => (await traefik.serverStatus(serviceName))[third.url] === 'DOWN', 'Traefik to mark replica-3 down', 30_000);

    const newcomers = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => signInVia(viaTraefik(), `Newcomer${n}`)));
    expect(newcomers.map((p) => p.instance)).not.toContain('replica-3');
    // The session lives in MongoDB: Erin is still signed in, now on another replica.
    expect(await whoServes(viaTraefik(), erin!.jar)).not.toBe('replica-3');

    // The link is back: so is the replica.
    await thirdBrokerLink.accept();
    await waitFor(async () => (await traefik.serverStatus(serviceName))[third.url] === 'UP', 'Traefik to take replica-3 back', 30_000);
  });

  test('without the sticky cookie, round-robin breaks the long-polling session (why the labels set one)', async () => {
    const unsticky = Object.fromEntries(Object.entries(labels).filter(([k]) => !k.includes('.sticky.')));
    const plain = await startTraefik(fileProviderConfig(unsticky, replicas.map((r) => r.url)));
    balancers.push(plain);
    const base = plain.url.replace('127.0.0.1', 'localhost');
    const frank = await signInVia(base, 'Frank');
    expect(frank.jar.has(cookieName)).toBe(false);

    // The handshake's session id is known to one replica only.
    const open = await fetch(`${base}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: frank.jar.header() } });
    expect(open.status).toBe(200);
    const sid = /"sid":"([^"]+)"/.exec(await open.text())![1]!;
    const followUps = await Promise.all(
      [1, 2].map(async () => {
        const res = await fetch(`${base}/socket.io/?EIO=4&transport=polling&sid=${sid}`, {
          method: 'POST',
          headers: { cookie: frank.jar.header(), 'content-type': 'text/plain;charset=UTF-8' },
          body: '40',
        });
        return { status: res.status, body: await res.text() };
      }),
    );
    expect(followUps).toContainEqual({ status: 400, body: expect.stringContaining('Session ID unknown') });
  });
});

test('the compose labels translate into a file-provider router and a sticky, health-checked service', async () => {
  const labels = (await composeConfig(COMPOSE_FILES.redis)).services.app!.labels!;
  const config = fileProviderConfig(labels, ['http://10.0.0.1:3000', 'http://10.0.0.2:3000']);
  expect(config).toEqual({
    http: {
      routers: { chat: { rule: labels['traefik.http.routers.chat.rule'], entryPoints: ['web'], service: 'chat' } },
      services: {
        chat: {
          loadBalancer: {
            servers: [{ url: 'http://10.0.0.1:3000' }, { url: 'http://10.0.0.2:3000' }],
            sticky: { cookie: { name: 'chat_affinity', httpOnly: true, sameSite: 'lax' } },
            healthCheck: { path: '/readyz', interval: '5s' },
          },
        },
      },
    },
  });
  expect(() => fileProviderConfig({ 'traefik.http.services.chat.loadbalancer.stickyy': 'true' }, [])).toThrow(/unknown Traefik label key "stickyy"/);
});
