import { setTimeout as sleep } from 'node:timers/promises';
import { startAppProcess, type AppProcess } from './helpers/app-process';
import { connect, expectOk, nextEvent, presenceNames, request, signIn, trackPresence, type ChatClient } from './helpers/client';
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
  let aliceView: ReturnType<typeof trackPresence>, bobView: ReturnType<typeof trackPresence>;
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

    aliceView = trackPresence(alice, expectOk(await request(alice, 'room:join', { roomId })).presence);
    bobView = trackPresence(bob, expectOk(await request(bob, 'room:join', { roomId })).presence);
    await bobView.until((p) => p.count === 2);
    // Presence is each replica's own view, filled by deltas from the others: a join never waits for them.
    const carolView = trackPresence(carol, expectOk(await request(carol, 'room:join', { roomId })).presence);
    expect(presenceNames(await carolView.until((p) => p.count === 3))).toEqual(['Alice', 'Bob', 'Carol']);
    expect(presenceNames(await aliceView.until((p) => p.count === 3))).toEqual(['Alice', 'Bob', 'Carol']);

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
    const started = Date.now();
    expectOk(await request(alice, 'room:join', { roomId: (await request(alice, 'room:list').then(expectOk)).rooms[0]!.id }));
    expectOk(await request(alice, 'room:join', { roomId }));
    expect(Date.now() - started).toBeLessThan(1000); // joins never wait for the broker
    const badge = expectOk(await request(alice, 'room:list')); // still served
    expect(badge.rooms.length).toBeGreaterThan(0);
    const own = nextEvent(alice, 'message');
    expectOk(await request(alice, 'message:send', { roomId, text: 'while cut off' }));
    await own;

    await proxy.accept();
    await readyzBecomes(r1, 200);
    // r1 hears r2 again and r2 hears r1: Alice is (still or again) in Bob's presence.
    await bobView.until((p) => presenceNames(p).includes('Alice'), 15_000);
    const delivered = nextEvent(alice, 'message', (m) => m.text === 'after the outage');
    expectOk(await request(bob, 'message:send', { roomId, text: 'after the outage' }));
    await delivered;

    // The outage was handled, not leaked: no unhandled rejection, failed publishes logged once and counted.
    await r1.waitForOutput(/broker: link restored/);
    const log = r1.output();
    expect(log).not.toMatch(/unhandled promise rejection/);
    expect(log.match(/publishing to the other replicas fails/g)?.length ?? 0).toBeLessThanOrEqual(1);
    const metrics = await (await fetch(`${r1.url}/metrics`)).text();
    const failed = Number(/^chat_broker_publish_failures_total (\d+)/m.exec(metrics)?.[1]);
    // Redis and RabbitMQ refuse at once; NATS buffers what is published while it reconnects.
    if (kind === 'nats') expect(failed).toBeGreaterThanOrEqual(0);
    else expect(failed).toBeGreaterThan(0);
  });

  test('the people of a replica that dies leave presence after the heartbeat timeout', async () => {
    const killedAt = Date.now();
    const carolGone = aliceView.until((p) => !presenceNames(p).includes('Carol') && !presenceNames(p).includes('Dave'), 15_000);
    await r3.kill();
    // Until the others notice, nothing a person does waits for the dead replica.
    for (const [i, replica] of [r1, r2, r1, r2].entries()) {
      const newcomer = await person(`Late${i}`, replica);
      const started = Date.now();
      const joined = expectOk(await request(newcomer, 'room:join', { roomId }));
      expectOk(await request(newcomer, 'message:send', { roomId, text: `hello from late ${i}` }));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(joined.room.id).toBe(roomId);
      newcomer.close();
    }
    expect(presenceNames(await carolGone).filter((n) => !n.startsWith('Late'))).toEqual(['Alice', 'Bob']);
    // Death is noticed after heartbeatTimeout (+ up to 1 s sweep) since r3's last message.
    expect(Date.now() - killedAt).toBeLessThan(HEARTBEAT.timeoutMs + 2 * 1000 + HEARTBEAT.intervalMs);
  });
});
