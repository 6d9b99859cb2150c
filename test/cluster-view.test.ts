import type { ClusterView } from '../src/shared/cluster';
import { createMemoryStore } from '../src/store/memory';
import { BROKER_URLS, BROKERS, brokerEnv, waitFor, type BrokerName } from './helpers/cluster';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

/**
 * The cluster view's figures travel between replicas over the adapter
 * (serverSideEmit), the same on every broker: three chat servers in this
 * process sharing one memory store (rooms and sessions), whose figures only
 * the adapter carries.
 */
const URL_VARIABLE: Record<BrokerName, string> = { redis: 'REDIS_URL', rabbitmq: 'RABBIT_URL', nats: 'NATS_URL' };

async function viewOf(server: TestServer, cookie: string): Promise<ClusterView> {
  const res = await fetch(`${server.url}/api/cluster`, { headers: { cookie } });
  expect(res.status).toBe(200);
  return (await res.json()) as ClusterView;
}

describe.each(BROKERS)('the cluster view over %s', (kind) => {
  const env = brokerEnv(kind);
  const store = createMemoryStore();
  let servers: TestServer[] = [];
  let cookies: string[] = [];
  const sockets: ChatClient[] = [];

  beforeAll(async () => {
    servers = await Promise.all([0, 1, 2].map(() => startServer({ env, store })));
    cookies = await Promise.all(servers.map(async (server, i) => (await signIn(server.url, `viewer${i}`)).cookie));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(servers.map((server) => server.close()));
    await store.close();
  });

  /** Waits until `condition` holds for what server `index` shows its viewer. */
  const untilView = async (index: number, condition: (view: ClusterView) => boolean, what: string, timeoutMs?: number) => {
    let last: ClusterView | null = null;
    await waitFor(async () => condition((last = await viewOf(servers[index]!, cookies[index]!))), what, timeoutMs).catch((error: Error) => {
      throw new Error(`${error.message}; last view: ${JSON.stringify(last)}`);
    });
    return last!;
  };

  test('every replica lists all three, says which one serves the viewer, and shows counts only', async () => {
    const ids = servers.map((s) => s.server.cluster.id).sort();
    for (const [index, server] of servers.entries()) {
      // A replica's first figures may predate its broker channel (RabbitMQ opens it after connecting).
      const view = await untilView(index, (v) => v.replicas.length === 3 && v.replicas.every((r) => r.broker.connected), 'three replicas, linked');
      expect(view.replicas.map((r) => r.id).sort()).toEqual(ids);
      expect(view.servedBy).toBe(server.server.cluster.id);
      expect(view.access).toBe('member');
      for (const replica of view.replicas) {
        expect(replica).not.toHaveProperty('operator');
        expect(replica.broker).toEqual({ kind, connected: true });
        expect(replica.store).toEqual({ kind: 'memory', ready: true });
        expect(replica.version).toMatch(/^\d+\.\d+\.\d+/);
      }
    }
  });

  test('people on one replica and a broadcast crossing the broker show on the others', async () => {
    const [A, B] = servers as [TestServer, TestServer, TestServer];
    const alice = await signIn(A.url, 'Alice');
    const bob = await signIn(B.url, 'Bob');
    const [a, b1, b2] = await Promise.all([connect(A.url, alice.cookie), connect(B.url, bob.cookie), connect(B.url, bob.cookie)]);
    sockets.push(a, b1, b2);
    const { rooms } = expectOk(await request(a, 'room:list'));
    const general = rooms[0]!.id;
    for (const socket of [a, b1]) expectOk(await request(socket, 'room:join', { roomId: general }));

    const idOf = (server: TestServer) => server.server.cluster.id;
    const figures = (view: ClusterView, server: TestServer) => view.replicas.find((r) => r.id === idOf(server));
    // Seen from the third replica: Bob's two tabs count as two sockets and one person.
    const onB = (v: ClusterView) => figures(v, B);
    const seen = await untilView(2, (v) => onB(v)?.sockets === 2 && onB(v)?.people === 1 && onB(v)?.rooms === 1, "Bob's sockets on B");
    const before = { sentByA: figures(seen, A)!.broadcasts.sent, receivedByB: figures(seen, B)!.broadcasts.received };

    expectOk(await request(a, 'message:send', { roomId: general, text: 'across the broker' }));
    await untilView(
      2,
      (v) => figures(v, A)!.broadcasts.sent > before.sentByA && figures(v, B)!.broadcasts.received > before.receivedByB,
      'A sent and B received a broadcast',
    );
  });

  test('a replica that starts appears everywhere; one that stops leaves at once', async () => {
    const D = await startServer({ env, store });
    try {
      await untilView(0, (v) => v.replicas.some((r) => r.id === D.server.cluster.id), 'the new replica');
    } finally {
      await D.close();
    }
    await untilView(0, (v) => v.replicas.length === 3 && !v.replicas.some((r) => r.id === D.server.cluster.id), 'the stopped replica to leave');
  });

  test('a replica cut off from the broker leaves the others within the heartbeat timeout, sees itself alone, and comes back', async () => {
    const target = new URL(BROKER_URLS[kind]);
    const proxy: TcpProxy = await startTcpProxy(target.hostname, Number(target.port));
    const E = await startServer({ store, env: { ...env, [URL_VARIABLE[kind]]: proxy.url(BROKER_URLS[kind]) } });
    try {
      const cookie = (await signIn(E.url, 'Erin')).cookie;
      const id = E.server.cluster.id;
      const listed = (v: ClusterView) => v.replicas.some((r) => r.id === id);
      await untilView(0, listed, 'the replica behind the proxy');

      await proxy.refuse();
      proxy.drop();
      await untilView(0, (v) => !listed(v), 'the cut replica to leave');
      await waitFor(async () => {
        const own = await viewOf(E, cookie);
        return own.replicas.length === 1 && own.replicas[0]!.broker.connected === false;
      }, 'the cut replica to see itself alone with its broker down');

      await proxy.accept();
      // amqplib waits up to 5 s between reconnection attempts.
      await untilView(0, listed, 'the replica to come back once the broker is reachable', 20_000);
    } finally {
      await E.close();
      await proxy.close();
    }
  });
});

/** The count and sum of a replica's chat_message_delivery_seconds on one broker, read from its /metrics. */
async function deliveries(server: TestServer, kind: BrokerName): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const read = (suffix: string) => Number(new RegExp(`^chat_message_delivery_seconds_${suffix}\\{broker="${kind}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { count: read('count'), sum: read('sum') };
}

describe.each(BROKERS)('message delivery time over %s', (kind) => {
  test('a message sent on one replica is timed once on the other, from its createdAt; the sender does not time its own', async () => {
    const env = brokerEnv(kind);
    const store = createMemoryStore();
    const [A, B] = (await Promise.all([startServer({ env, store }), startServer({ env, store })])) as [TestServer, TestServer];
    const sockets: ChatClient[] = [];
    try {
      for (const [server, name] of [[A, 'Ann'], [B, 'Ben']] as const) sockets.push(await connect(server.url, (await signIn(server.url, name)).cookie));
      const [ann, ben] = sockets as [ChatClient, ChatClient];
      const general = expectOk(await request(ann, 'room:list')).rooms[0]!.id;
      for (const socket of sockets) expectOk(await request(socket, 'room:join', { roomId: general }));
      await waitFor(() => A.server.cluster.view('member').replicas.length === 2 && B.server.cluster.view('member').replicas.length === 2, 'the replicas to see each other');
      const before = { A: await deliveries(A, kind), B: await deliveries(B, kind) };

      const arrived = nextEvent(ben, 'message', (m) => m.text === 'timed across');
      const sentAt = Date.now();
      const { message } = expectOk(await request(ann, 'message:send', { roomId: general, text: 'timed across' }));
      await arrived;
      // The room's unread notice crosses too (within a second): once Ben has it, nothing more is on its way.
      await nextEvent(ben, 'rooms:heads', (heads) => (heads[general] ?? 0) >= message.seq);
      const elapsed = (Date.now() - sentAt) / 1000;

      const after = { A: await deliveries(A, kind), B: await deliveries(B, kind) };
      expect(after.B.count - before.B.count).toBe(1);
      expect(after.B.sum - before.B.sum).toBeGreaterThan(0);
      expect(after.B.sum - before.B.sum).toBeLessThanOrEqual(elapsed);
      expect(after.A).toEqual(before.A);
    } finally {
      for (const socket of sockets) socket.close();
      await Promise.all([A.close(), B.close()]);
      await store.close();
    }
  });
});
