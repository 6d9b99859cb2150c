import type { Socket as ClientSocket } from 'socket.io-client';
import { startAppProcess } from './helpers/app-process';
import { BROKER_URLS, BROKERS, brokerEnv, once, startNode, waitFor, type BrokerName, type Node } from './helpers/cluster';
import { freePort } from './helpers/net';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy';

const URL_VARIABLE: Record<BrokerName, string> = { redis: 'REDIS_URL', rabbitmq: 'RABBIT_URL', nats: 'NATS_URL' };

describe.each(BROKERS)('%s: losing the broker at run time', (kind) => {
  let proxy: TcpProxy;
  let A: Node, B: Node;
  afterEach(async () => {
    await Promise.all([A?.close(), B?.close()]);
    await proxy?.close();
  });

  test('a server cut off from the broker keeps serving its own clients, reconnects and delivers again', async () => {
    const target = new URL(BROKER_URLS[kind]);
    proxy = await startTcpProxy(target.hostname, Number(target.port));
    const env = brokerEnv(kind);
    [A, B] = await Promise.all([
      startNode('A', { ...env, [URL_VARIABLE[kind]]: proxy.url(BROKER_URLS[kind]) }),
      startNode('B', env),
    ]);
    const bothCount = (n: number) => async () =>
      (await Promise.all([A, B].map((node) => node.io.of('/').adapter.serverCount()))).every((c) => c === n);
    await waitFor(bothCount(2), 'A and B to see each other');
    const [a, b] = await Promise.all([A.connect('a'), B.connect('b')]);

    await proxy.refuse();
    proxy.drop();
    await waitFor(() => !A.broker.isConnected(), 'A to notice the broker is gone');

    const local = once(a, 'while-cut');
    A.io.emit('while-cut');
    await local;
    // Once B has been dropped (heartbeat timeout), requests settle with A's own sockets.
    expect((await A.io.fetchSockets()).map((s) => s.data.name)).toEqual(['a']);

    await proxy.accept();
    await waitFor(() => A.broker.isConnected(), 'A to reconnect', 15_000);
    await waitFor(bothCount(2), 'A and B to see each other again');
    await expectDelivery(A, b, 'from-A');
    await expectDelivery(B, a, 'from-B');
    expect((await A.io.fetchSockets()).map((s) => s.data.name).sort()).toEqual(['a', 'b']);
  });
});

async function expectDelivery(from: Node, to: ClientSocket, event: string) {
  const arrived = once(to, event);
  from.io.emit(event);
  await arrived;
}

describe('boot errors', () => {
  test('two brokers configured at once: the process exits naming both variables', async () => {
    const app = await startAppProcess(
      { REDIS_URL: BROKER_URLS.redis, NATS_URL: BROKER_URLS.nats },
      { waitFor: 'none' },
    );
    expect(await app.exited).toBe(78);
    expect(app.output()).toMatch(/more than one broker is configured \(REDIS_URL and NATS_URL\)/);
  });

  test.each(BROKERS)('%s unreachable: retries with a log line each, then exits with a clear message', async (kind) => {
    // Nothing listens on a fresh free port: connections are refused.
    const port = await freePort();
    const url = new URL(BROKER_URLS[kind]);
    url.port = String(port);
    const app = await startAppProcess(
      { ...brokerEnv(kind, { url: url.toString() }), BROKER_CONNECT_RETRIES: '3', BROKER_CONNECT_DELAY_MS: '20' },
      { waitFor: 'none' },
    );
    expect(await app.exited).not.toBe(0);
    const output = app.output();
    expect(output.match(/unreachable \(attempt \d\/3\)/g)).toEqual(['unreachable (attempt 1/3)', 'unreachable (attempt 2/3)']);
    expect(output).toMatch(new RegExp(`Startup failed: Could not connect to ${kind} at .*:${port}.* after 3 attempts`));
  });
});
