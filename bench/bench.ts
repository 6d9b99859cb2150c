/**
 * Measures what the README promises, and prints tables (nothing is asserted):
 *   1. fan-out: latency until every member of a room has a message, per broker, 3 replicas
 *   2. history: latest page and a deep page of a big room vs a small room (memory and FerretDB)
 *   3. memory: server RSS per connected socket
 * Run: npm run bench  (needs the brokers on 127.0.0.1, FerretDB, and `npm run build`).
 * Sizes: BENCH_CLIENTS, BENCH_MESSAGES, BENCH_HISTORY, BENCH_SOCKETS.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { connect, expectOk, request, signIn, type ChatClient } from '../test/helpers/client';
import { startAppProcess } from '../test/helpers/app-process';
import { startFerretDB } from '../test/helpers/ferretdb';
import { uniqueId } from '../test/helpers/net';
import { startServer, type TestServer } from '../test/helpers/server';
import { loadConfig } from '../src/config';
import { silentLogger } from '../src/lib/logger';
import { connectStore } from '../src/store';
import { createMemoryStore } from '../src/store/memory';
import type { Store } from '../src/store/types';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 60);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 10_000);
const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 1000);

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (n: number) => `${n.toFixed(2)} ms`;

const BROKERS: Record<string, Record<string, string>> = {
  none: {},
  redis: { REDIS_URL: 'redis://127.0.0.1:6379' },
  rabbitmq: { RABBIT_URL: 'amqp://guest:guest@127.0.0.1:5672' },
  nats: { NATS_URL: 'nats://127.0.0.1:4222' },
};

async function fanOut(broker: string) {
  const store = createMemoryStore();
  const replicas = broker === 'none' ? 1 : 3;
  const env = { ...BROKERS[broker], BROKER_PREFIX: uniqueId('bench'), MESSAGE_RATE_LIMIT: '100000' };
  const servers: TestServer[] = [];
  for (let i = 0; i < replicas; i += 1) servers.push(await startServer({ env, store }));
  const clients: ChatClient[] = [];
  try {
    const roomId = (await store.rooms.ensure('general')).id;
    for (let i = 0; i < CLIENTS; i += 1) {
      const server = servers[i % replicas]!;
      const socket = await connect(server.url, (await signIn(server.url, `user${i}`)).cookie);
      expectOk(await request(socket, 'room:join', { roomId }));
      clients.push(socket);
    }
    const [sender, ...receivers] = clients;
    const latencies: number[] = [];
    const started = performance.now();
    for (let i = 0; i < MESSAGES; i += 1) {
      const sentAt = performance.now();
      const text = `bench ${i}`;
      const delivered = receivers.map(
        (socket) =>
          new Promise<void>((resolve) => {
            const listener = (m: { text: string }) => {
              if (m.text !== text) return;
              socket.off('message', listener);
              resolve();
            };
            socket.on('message', listener);
          }),
      );
      expectOk(await request(sender!, 'message:send', { roomId, text }));
      await Promise.all(delivered);
      latencies.push(performance.now() - sentAt);
    }
    const seconds = (performance.now() - started) / 1000;
    return {
      broker,
      replicas,
      clients: CLIENTS,
      messages: MESSAGES,
      'p50 all delivered': ms(percentile(latencies, 50)),
      'p95 all delivered': ms(percentile(latencies, 95)),
      'p99 all delivered': ms(percentile(latencies, 99)),
      'deliveries/s': Math.round((MESSAGES * receivers.length) / seconds),
    };
  } finally {
    for (const socket of clients) socket.close();
    for (const server of servers) await server.close();
  }
}

async function history(kind: string, store: Store) {
  const author = await store.users.findOrCreateByName(uniqueId('author'));
  const big = await store.rooms.create(uniqueId('big'));
  const small = await store.rooms.create(uniqueId('small'));
  const insertStarted = performance.now();
  for (let i = 0; i < HISTORY; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, HISTORY - i) }, (_, j) =>
        store.messages.add({ roomId: big.id, authorId: author.id, text: `m${i + j}`, clientId: uniqueId('c') }),
      ),
    );
  }
  const insertSeconds = (performance.now() - insertStarted) / 1000;
  for (let i = 0; i < 10; i += 1) {
    await store.messages.add({ roomId: small.id, authorId: author.id, text: `s${i}`, clientId: uniqueId('c') });
  }
  const time = async (run: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const t = performance.now();
      await run();
      samples.push(performance.now() - t);
    }
    return ms(percentile(samples, 50));
  };
  // A cursor half-way back: what "load older" costs deep in a big room.
  let cursor = (await store.messages.page(big.id, { limit: 1 }))[0]!;
  for (let depth = 0; depth < HISTORY / 2; depth += 1000) {
    const page = await store.messages.page(big.id, { limit: 1000, before: cursor });
    cursor = page.at(-1) ?? cursor;
  }
  return {
    store: kind,
    'messages in big room': HISTORY,
    'insert rate': `${Math.round(HISTORY / insertSeconds)}/s`,
    'latest 50, room of 10': await time(() => store.messages.page(small.id, { limit: 51 })),
    'latest 50, big room': await time(() => store.messages.page(big.id, { limit: 51 })),
    'page of 50 half-way back': await time(() => store.messages.page(big.id, { limit: 51, before: cursor })),
  };
}

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN);
}

async function memoryPerSocket() {
  const app = await startAppProcess({ SESSION_SECRET: 'bench-secret-bench-secret', LOG_LEVEL: 'warn', SIGNIN_RATE_LIMIT: '100000' });
  const clients: ChatClient[] = [];
  try {
    const { cookie } = await signIn(app.url, 'memory');
    const warm = await connect(app.url, cookie);
    clients.push(warm);
    const before = rssKiB(app.child.pid!);
    for (let i = 0; i < SOCKETS; i += 1) clients.push(await connect(app.url, cookie));
    const after = rssKiB(app.child.pid!);
    return {
      sockets: SOCKETS,
      'server RSS before': `${(before / 1024).toFixed(1)} MiB`,
      'server RSS after': `${(after / 1024).toFixed(1)} MiB`,
      'per socket': `${((after - before) / SOCKETS).toFixed(1)} KiB`,
    };
  } finally {
    for (const socket of clients) socket.close();
    await app.stop();
  }
}

async function main() {
  console.log(`\nFan-out: ${CLIENTS} clients in one room spread over the replicas, ${MESSAGES} messages sent one after another`);
  const fanOutRows = [];
  for (const broker of Object.keys(BROKERS)) fanOutRows.push(await fanOut(broker));
  console.table(fanOutRows);

  console.log(`\nHistory: median of 30 queries (limit 51 = a page of 50 plus one to know if there are more)`);
  const ferret = await startFerretDB();
  const mongo = await connectStore(loadConfig({ MONGO_URL: ferret.url(), LOG_LEVEL: 'silent' }), silentLogger);
  try {
    console.table([await history('memory', createMemoryStore()), await history('mongodb (FerretDB 1.24, SQLite)', mongo)]);
  } finally {
    await mongo.close();
    await ferret.destroy();
  }

  console.log(`\nMemory: one server process (node dist/main.js), ${SOCKETS} WebSocket connections`);
  console.table([await memoryPerSocket()]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
