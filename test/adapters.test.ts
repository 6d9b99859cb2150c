import { createServer } from 'node:http';
import amqp from 'amqplib';
import { connect as connectNats } from 'nats';
import { Server } from 'socket.io';
import type { Socket as ClientSocket } from 'socket.io-client';
import { createAdapter as createAmqpAdapter } from '../src/adapters/amqp';
import { createAdapter as createNatsAdapter } from '../src/adapters/nats';
import { BROKER_URLS, BROKERS, brokerEnv, once, record, startCluster, waitFor, type Node } from './helpers/cluster';
import { uniqueId } from './helpers/net';

/**
 * The cluster semantics of Socket.IO, the same for every broker: three servers
 * on one prefix, clients a (room r1) on A, b (r1, r2) on B, c (r2) on C.
 * "Did not arrive" is checked with a marker broadcast sent afterwards by the
 * same server: the broker keeps one publisher's order, so by the time the
 * marker arrives anything sent before it has arrived too.
 */
describe.each(BROKERS)('%s adapter', (kind) => {
  let A: Node, B: Node, C: Node;
  let a: ClientSocket, b: ClientSocket, c: ClientSocket;

  beforeEach(async () => {
    [A, B, C] = (await startCluster(kind)) as [Node, Node, Node];
    [a, b, c] = await Promise.all([A.connect('a', ['r1']), B.connect('b', ['r1', 'r2']), C.connect('c', ['r2'])]);
  });
  afterEach(() => Promise.all([A, B, C].map((n) => n.close())));

  /** Sends a marker from `from` to everyone and resolves once every client has it. */
  const marker = async (from: Node) => {
    const arrived = Promise.all([a, b, c].map((s) => once(s, 'marker')));
    from.io.emit('marker');
    await arrived;
  };

  test('broadcasts to every client of every server', async () => {
    const got = Promise.all([a, b, c].map((s) => once(s, 'news')));
    A.io.emit('news', 'hello', { n: 1 });
    expect(await got).toEqual([['hello', { n: 1 }], ['hello', { n: 1 }], ['hello', { n: 1 }]]);
  });

  test('broadcasts to rooms and except rooms', async () => {
    const inR1 = [a, b, c].map((s) => record(s, 'r1'));
    const notR1 = [a, b, c].map((s) => record(s, 'not-r1'));
    C.io.to('r1').emit('r1');
    C.io.except('r1').emit('not-r1');
    await marker(C);
    expect(inR1.map((r) => r.length)).toEqual([1, 1, 0]);
    expect(notR1.map((r) => r.length)).toEqual([0, 0, 1]);
  });

  test('emits to one socket id on another server', async () => {
    const got = [a, b, c].map((s) => record(s, 'direct'));
    A.io.to(c.id!).emit('direct', 'for c');
    await marker(A);
    expect(got.map((r) => r.length)).toEqual([0, 0, 1]);
  });

  test('local broadcasts stay on their server', async () => {
    const got = [a, b, c].map((s) => record(s, 'local'));
    B.io.local.emit('local');
    await marker(B);
    expect(got.map((r) => r.length)).toEqual([0, 1, 0]);
  });

  test('carries binary payloads', async () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const got = once<[Buffer, { nested: Buffer }]>(c, 'file');
    A.io.emit('file', bytes, { nested: bytes });
    const [top, { nested }] = await got;
    expect(Buffer.from(top)).toEqual(bytes);
    expect(Buffer.from(nested)).toEqual(bytes);
  });

  test('collects broadcast acknowledgements from every server, and times out on a silent client', async () => {
    for (const s of [a, b, c]) s.on('ping', (callback: (reply: string) => void) => callback(`pong ${s.id}`));
    const replies = await A.io.timeout(3000).emitWithAck('ping');
    expect([...replies].sort()).toEqual([a, b, c].map((s) => `pong ${s.id}`).sort());

    await expect(A.io.to('r2').timeout(300).emitWithAck('nobody-answers')).rejects.toThrow();
  });

  test('socketsJoin and socketsLeave reach sockets on other servers', async () => {
    A.io.in('r2').socketsJoin('team');
    await marker(A);
    const ids = async () => (await A.io.in('team').fetchSockets()).map((s) => s.id).sort();
    expect(await ids()).toEqual([b.id, c.id].sort());

    A.io.in(c.id!).socketsLeave('team');
    await marker(A);
    expect(await ids()).toEqual([b.id]);
  });

  test('disconnectSockets disconnects sockets on other servers', async () => {
    const gone = Promise.all([b, c].map((s) => once(s, 'disconnect')));
    A.io.in('r2').disconnectSockets(true);
    await gone;
    expect(a.connected).toBe(true);
  });

  test('fetchSockets returns the sockets of every server with their data and rooms', async () => {
    const sockets = await A.io.fetchSockets();
    const byName = Object.fromEntries(sockets.map((s) => [s.data.name, s]));
    expect(Object.keys(byName).sort()).toEqual(['a', 'b', 'c']);
    expect(byName.c!.id).toBe(c.id);
    expect([...byName.c!.rooms].sort()).toEqual([c.id, 'r2'].sort());
    expect(byName.c!.handshake.auth).toEqual({ name: 'c', rooms: ['r2'] });
    expect((await B.io.in('r1').fetchSockets()).map((s) => s.data.name).sort()).toEqual(['a', 'b']);
  });

  test('serverSideEmit reaches the other servers, with and without acknowledgements', async () => {
    const heard = Promise.all([B, C].map((n) => once(n.io, 'hello')));
    A.io.serverSideEmit('hello', 'from A', { binary: Buffer.from([1, 2]) });
    for (const [text, { binary }] of (await heard) as [string, { binary: Buffer }][]) {
      expect(text).toBe('from A');
      expect(Buffer.from(binary)).toEqual(Buffer.from([1, 2]));
    }

    for (const n of [A, B, C]) n.io.on('whoami', (callback: (name: string) => void) => callback(n.name));
    expect(((await A.io.serverSideEmitWithAck('whoami')) as string[]).sort()).toEqual(['B', 'C']);
  });

  test('a server that died stops being waited for after the heartbeat timeout', async () => {
    for (const n of [A, B, C]) n.io.on('whoami', (callback: (name: string) => void) => callback(n.name));
    await C.crash();
    const started = Date.now();
    // heartbeatTimeout is 1500 ms here; requests themselves time out at 5000 ms.
    expect(((await A.io.serverSideEmitWithAck('whoami')) as string[]).sort()).toEqual(['B']);
    expect((await A.io.fetchSockets()).map((s) => s.data.name).sort()).toEqual(['a', 'b']);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  test('allRooms lists the rooms of every server', async () => {
    const adapter = B.io.of('/').adapter as unknown as { allRooms(): Promise<Set<string>> };
    expect([...(await adapter.allRooms())].sort()).toEqual(['r1', 'r2', a.id!, b.id!, c.id!].sort());
  });
});

describe.each(BROKERS)('%s adapter with requestsTimeout', (kind) => {
  let nodes: Node[] = [];
  afterEach(() => Promise.all(nodes.map((n) => n.close())));

  test('a request a server never answers gives up after requestsTimeout, with the answers it has', async () => {
    nodes = await startCluster(kind, 3, { ...brokerEnv(kind), ADAPTER_REQUESTS_TIMEOUT_MS: '1000' });
    const [A, B, C] = nodes as [Node, Node, Node];
    B.io.on('question', (callback: (answer: string) => void) => callback('from B'));
    C.io.on('question', () => {}); // listens, never answers
    const started = Date.now();
    const [error, answers] = await new Promise<[Error | null, unknown[]]>((resolve) =>
      A.io.serverSideEmit('question', (err: Error | null, replies: unknown[]) => resolve([err, replies])),
    );
    const waited = Date.now() - started;
    expect(error?.message).toMatch(/timeout reached/);
    expect(answers).toEqual(['from B']);
    // The default would be 5000 ms.
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(4000);
  });
});

describe('createAdapter on its own, with a plain connection', () => {
  const cases = [
    {
      name: 'amqp',
      connect: async () => {
        const connection = await amqp.connect(BROKER_URLS.rabbitmq);
        return { adapter: (prefix: string) => createAmqpAdapter(connection, { prefix }), close: () => connection.close() };
      },
    },
    {
      name: 'nats',
      connect: async () => {
        const nc = await connectNats({ servers: BROKER_URLS.nats });
        return { adapter: (prefix: string) => createNatsAdapter(nc, { prefix }), close: () => nc.close() };
      },
    },
  ];

  test.each(cases)('$name: two servers find each other and answer a request with binary arguments', async ({ connect }) => {
    const prefix = uniqueId('standalone-');
    const connections = await Promise.all([connect(), connect()]);
    const servers = connections.map((c) => new Server(createServer(), { adapter: c.adapter(prefix) }));
    try {
      await waitFor(
        async () => (await Promise.all(servers.map((s) => s.of('/').adapter.serverCount()))).every((n) => n === 2),
        'two servers to see each other',
      );
      const [first, second] = servers as [Server, Server];
      second.on('ping', (payload: Buffer, callback: (reply: string) => void) => callback(`pong ${Buffer.from(payload).toString('hex')}`));
      expect(await first.serverSideEmitWithAck('ping', Buffer.from([0xca, 0xfe]))).toEqual(['pong cafe']);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(connections.map((c) => c.close()));
    }
  });
});
