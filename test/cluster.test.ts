import { setTimeout as sleep } from 'node:timers/promises';
import { startAppProcess, type AppProcess } from './helpers/app-process';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { BROKER_URLS, BROKERS, brokerEnv, type BrokerName } from './helpers/cluster';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

/**
 * Three replicas of the built app (`node dist/main.js`) per broker, sharing a
 * MongoDB-protocol store, with the default heartbeat settings. Replica 1 reaches
 * the broker through a TCP proxy the test can cut.
 */
const HEARTBEAT = { intervalMs: 2000, timeoutMs: 4500 };
const URL_VARIABLE: Record<BrokerName, string> = { redis: 'REDIS_URL', rabbitmq: 'RABBIT_URL', nats: 'NATS_URL' };

let ferret: FerretDB;
beforeAll(async () => {
  ferret = await startFerretDB();
});
afterAll(() => ferret?.destroy());

const names = (p: { users: { name: string }[] }) => p.users.map((u) => u.name);

/** Polls another process's /readyz until it answers `status` (a foreign process: nothing to subscribe to). */
async function readyzBecomes(app: AppProcess, status: number, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${app.url}/readyz`);
    const body = (await res.json()) as { checks: { broker: { kind: string; ready: boolean } } };
    if (res.status === status) return body;
    if (Date.now() > deadline) throw new Error(`/readyz stayed ${res.status}: ${JSON.stringify(body)}\n${app.output()}`);
    await sleep(100);
  }
}

describe.each(BROKERS)('%s: three app replicas act as one chat', (kind) => {
  let proxy: TcpProxy;
  let r1: AppProcess, r2: AppProcess, r3: AppProcess;
  let alice: ChatClient, bob: ChatClient, carol: ChatClient;
  let roomId: string;
  const open: ChatClient[] = [];

  beforeAll(async () => {
    const target = new URL(BROKER_URLS[kind]);
    proxy = await startTcpProxy(target.hostname, Number(target.port));
    const env = {
      ...brokerEnv(kind, { heartbeat: HEARTBEAT }),
      MONGO_URL: ferret.url(),
      SESSION_SECRET: 'cluster-test-secret-0123456789',
    };
    [r1, r2, r3] = await Promise.all([
      startAppProcess({ ...env, INSTANCE_NAME: 'r1', [URL_VARIABLE[kind]]: proxy.url(BROKER_URLS[kind]) }, { waitFor: 'readyz' }),
      startAppProcess({ ...env, INSTANCE_NAME: 'r2' }, { waitFor: 'readyz' }),
      startAppProcess({ ...env, INSTANCE_NAME: 'r3' }, { waitFor: 'readyz' }),
    ]);
  });
  afterAll(async () => {
    for (const socket of open) socket.close();
    await Promise.all([r1, r2, r3].map((r) => r?.stop()));
    await proxy?.close();
  });

  const person = async (name: string, replica: AppProcess, cookie?: string) => {
    const socket = await connect(replica.url, cookie ?? (await signIn(replica.url, name)).cookie);
    open.push(socket);
    return socket;
  };

  test('people on different replicas chat, see each other and their typing, and get the history', async () => {
    alice = await person('Alice', r1);
    bob = await person('Bob', r2);
    carol = await person('Carol', r3);
    roomId = expectOk(await request(alice, 'room:list')).rooms.find((r) => r.name === 'general')!.id;

    expectOk(await request(alice, 'room:join', { roomId }));
    expectOk(await request(bob, 'room:join', { roomId }));
    const aliceSeesThree = nextEvent(alice, 'presence', (p) => p.count === 3);
    const joined = expectOk(await request(carol, 'room:join', { roomId }));
    expect(names(joined.presence)).toEqual(['Alice', 'Bob', 'Carol']);
    expect(names(await aliceSeesThree)).toEqual(['Alice', 'Bob', 'Carol']);

    // Alice in a second tab on another replica still counts once.
    const aliceCookie = (await signIn(r1.url, 'Alice')).cookie;
    const aliceTab2 = await person('Alice', r2, aliceCookie);
    expect(expectOk(await request(aliceTab2, 'room:join', { roomId })).presence.count).toBe(3);

    const typing = Promise.all([alice, carol].map((s) => nextEvent(s, 'typing')));
    bob.emit('typing', { roomId, typing: true });
    for (const seen of await typing) expect(seen).toMatchObject({ roomId, typing: true, user: { name: 'Bob' } });

    const delivered = Promise.all([bob, carol, aliceTab2].map((s) => nextEvent(s, 'message')));
    const sent = expectOk(await request(alice, 'message:send', { roomId, text: `hello over ${kind}` })).message;
    for (const message of await delivered) expect(message).toMatchObject({ id: sent.id, author: { name: 'Alice' } });

    const dave = await person('Dave', r3);
    const history = expectOk(await request(dave, 'room:join', { roomId }));
    expect(history.messages.map((m) => m.id)).toContain(sent.id);
  });

  test('a replica that loses the broker reports not ready, keeps serving, and delivers again without a restart', async () => {
    await proxy.refuse();
    proxy.drop();
    const down = await readyzBecomes(r1, 503);
    expect(down.checks.broker).toEqual({ kind, ready: false });
    const badge = expectOk(await request(alice, 'room:list')); // still served
    expect(badge.rooms.length).toBeGreaterThan(0);
    const own = nextEvent(alice, 'message');
    expectOk(await request(alice, 'message:send', { roomId, text: 'while cut off' }));
    await own;

    await proxy.accept();
    await readyzBecomes(r1, 200);
    // Presence computed by r2 with Alice in it needs r1 to hear r2's request: r1 is back in the cluster.
    await nextEvent(bob, 'presence', (p) => names(p).includes('Alice'), 15_000);
    const delivered = nextEvent(alice, 'message', (m) => m.text === 'after the outage');
    expectOk(await request(bob, 'message:send', { roomId, text: 'after the outage' }));
    await delivered;
  });

  test('the people of a replica that dies leave presence after the heartbeat timeout', async () => {
    const killedAt = Date.now();
    const carolGone = nextEvent(alice, 'presence', (p) => !names(p).includes('Carol') && !names(p).includes('Dave'), 15_000);
    await r3.kill();
    expect(names(await carolGone)).toEqual(['Alice', 'Bob']);
    // Death is noticed after heartbeatTimeout (+ up to 1 s sweep) since r3's last message.
    expect(Date.now() - killedAt).toBeLessThan(HEARTBEAT.timeoutMs + 2 * 1000 + HEARTBEAT.intervalMs);
  });
});
