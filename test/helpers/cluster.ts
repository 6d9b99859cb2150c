import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { connectBroker, type Broker } from '../../src/adapters/broker';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/lib/logger';
import { uniqueId } from './net';

export type BrokerName = 'redis' | 'rabbitmq' | 'nats';
export const BROKERS: BrokerName[] = ['redis', 'rabbitmq', 'nats'];

/** The machine's shared brokers (tests never stop them: see tcp-proxy.ts to cut a connection). */
export const BROKER_URLS: Record<BrokerName, string> = {
  redis: 'redis://127.0.0.1:6379',
  rabbitmq: 'amqp://guest:guest@127.0.0.1:5672',
  nats: 'nats://127.0.0.1:4222',
};

const URL_VARIABLE: Record<BrokerName, string> = { redis: 'REDIS_URL', rabbitmq: 'RABBIT_URL', nats: 'NATS_URL' };

/** The app's environment for one broker, with a prefix of its own so parallel tests never cross. */
export function brokerEnv(
  kind: BrokerName,
  options: { url?: string; prefix?: string; heartbeat?: { intervalMs: number; timeoutMs: number } } = {},
): Record<string, string> {
  const heartbeat = options.heartbeat ?? { intervalMs: 250, timeoutMs: 1500 };
  return {
    BROKER: kind,
    [URL_VARIABLE[kind]]: options.url ?? BROKER_URLS[kind],
    BROKER_PREFIX: options.prefix ?? uniqueId('test-'),
    ADAPTER_HEARTBEAT_INTERVAL_MS: String(heartbeat.intervalMs),
    ADAPTER_HEARTBEAT_TIMEOUT_MS: String(heartbeat.timeoutMs),
  };
}

export interface Node {
  name: string;
  io: Server;
  url: string;
  broker: Broker;
  /** Clients of this node; `connect` adds one, `close` closes them. */
  connect(name: string, rooms?: string[]): Promise<ClientSocket>;
  /** As a crash: drops the broker connection without the adapter's goodbye. */
  crash(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Plain Socket.IO servers (no chat app) joined through the broker adapter the
 * app would use (src/adapters/broker.ts). A client joins the rooms it names in
 * `auth.rooms`; its `socket.data` is `{ name }`.
 */
export async function startNode(name: string, env: Record<string, string>): Promise<Node> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env });
  const broker = await connectBroker(config, silentLogger);
  const http = createServer();
  const io = new Server(http, { adapter: broker.adapter });
  io.on('connection', (socket: ServerSocket) => {
    const auth = socket.handshake.auth as { name: string; rooms: string[] };
    socket.data = { name: auth.name };
    socket.join(auth.rooms);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const clients: ClientSocket[] = [];
  let crashed = false;
  return {
    name,
    io,
    url,
    broker,
    async connect(clientName, rooms = []) {
      const socket = ioClient(url, { auth: { name: clientName, rooms }, transports: ['websocket'], reconnection: false, forceNew: true });
      clients.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      return socket;
    },
    async crash() {
      crashed = true;
      await broker.close();
    },
    async close() {
      for (const client of clients) client.close();
      await io.close();
      if (!crashed) await broker.close();
    },
  };
}

/** `size` nodes on one broker and prefix; resolves once every node counts all of them. */
export async function startCluster(kind: BrokerName, size = 3, env: Record<string, string> = brokerEnv(kind)): Promise<Node[]> {
  const nodes = await Promise.all(Array.from({ length: size }, (_, i) => startNode(String.fromCharCode(65 + i), env)));
  await waitFor(async () => {
    const counts = await Promise.all(nodes.map((n) => n.io.of('/').adapter.serverCount()));
    return counts.every((c) => c === size);
  }, `${size} ${kind} nodes to see each other`);
  return nodes;
}

/**
 * Polls a condition of in-process state that has no event of its own (the
 * adapters' server count), every 20 ms until `timeoutMs`.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves with the arguments of the next `event` on `emitter`, or rejects after `timeoutMs`. */
export function once<T extends unknown[] = unknown[]>(
  emitter: { once(event: string, listener: (...args: any[]) => void): unknown; off(event: string, listener: (...args: any[]) => void): unknown },
  event: string,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (...args: any[]) => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out waiting for "${event}"`));
    }, timeoutMs);
    emitter.once(event, listener);
  });
}

/** Records every `event` a client receives, to check later what did and did not arrive. */
export function record(socket: ClientSocket, event: string): unknown[][] {
  const received: unknown[][] = [];
  socket.on(event, (...args: unknown[]) => received.push(args));
  return received;
}
