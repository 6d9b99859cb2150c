/**
 * Measures what the README promises, and prints tables (nothing is asserted):
 *   1. chat path: 1,000 clients over 10 rooms, a rate ladder with exactly-once accounting per
 *      person, beside bare Socket.IO in the same run: memory store 1 replica, FerretDB 2 and 3
 *      replicas per broker (bench/chat-path.ts; chart in docs/)
 *   1b. group commit: sends into one room through the writer vs one append per send, on
 *      FerretDB/PostgreSQL, with FerretDB's round trips per send (bench/group-commit.ts)
 *   2. presence: a 5,000-person room, joins/s and bytes per change
 *   3. idle memory per signed-in connection, beside bare Socket.IO
 *   3b. heal: time until everyone has every message after a broker cut, per broker, and
 *      until a reader who never sends on the cut replica has (bench/heal.ts)
 *   4. fan-out: latency until every member of a room has a message, per broker, 3 replicas
 *   5. history: latest page and a deep page of a big room vs a small room (memory and FerretDB)
 * Run: npm run bench  (needs the brokers on 127.0.0.1, FerretDB, and `npm run build`).
 * BENCH_ONLY=path,groupcommit,presence,idle,heal,fanout,history picks sections. Sizes: BENCH_CLIENTS,
 * BENCH_MESSAGES, BENCH_HISTORY, BENCH_PATH_CLIENTS, BENCH_PATH_ROOMS, BENCH_PATH_LADDER,
 * BENCH_PATH_STEP_SECONDS, BENCH_PATH_REPLICAS (FerretDB replicas per broker, default 2,3;
 * 1 adds one replica without a broker), BENCH_GC_SENDS, BENCH_GC_BURSTS, BENCH_PRESENCE_PEOPLE,
 * BENCH_IDLE_SOCKETS.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { chatPathBench, idleMemoryBench, pathChart, pathSummary, percentile, presenceBench } from './chat-path';
import { groupCommitBench } from './group-commit';
import { healBench } from './heal';
import { connect, expectOk, request, signIn, type ChatClient } from '../test/helpers/client';
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
const ONLY = new Set((process.env.BENCH_ONLY ?? 'path,groupcommit,presence,idle,heal,fanout,history').split(','));

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
    await store.messages.append(
      big.id,
      Array.from({ length: Math.min(200, HISTORY - i) }, (_, j) => ({ authorId: author.id, text: `m${i + j}`, clientId: uniqueId('c') })),
    );
  }
  const insertSeconds = (performance.now() - insertStarted) / 1000;
  for (let i = 0; i < 10; i += 1) {
    await store.messages.append(small.id, [{ authorId: author.id, text: `s${i}`, clientId: uniqueId('c') }]);
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
  // Half-way back: what "load older" costs deep in a big room.
  const halfWay = Math.ceil(HISTORY / 2);
  return {
    store: kind,
    'messages in big room': HISTORY,
    'insert rate': `${Math.round(HISTORY / insertSeconds)}/s`,
    'latest 50, room of 10': await time(() => store.messages.page(small.id, { limit: 51 })),
    'latest 50, big room': await time(() => store.messages.page(big.id, { limit: 51 })),
    'page of 50 half-way back': await time(() => store.messages.page(big.id, { limit: 51, beforeSeq: halfWay })),
  };
}

async function main() {
  if (ONLY.has('path')) {
    console.log('\nChat path vs bare Socket.IO (same machine, same run)');
    const results = await chatPathBench();
    console.log('\nSummary');
    console.table(pathSummary(results));
    const chart = path.join(__dirname, '..', 'docs', 'bench-chat-path.svg');
    pathChart(results, chart);
    console.log(`chart: ${path.relative(process.cwd(), chart)}`);
  }
  if (ONLY.has('groupcommit')) {
    console.log('\nGroup commit on FerretDB/PostgreSQL: sends into one room, in bursts sent at once (the next when the last is stored)');
    console.table(await groupCommitBench());
  }
  if (ONLY.has('presence')) {
    console.log('\nPresence in one big room (one replica, memory store)');
    console.table([await presenceBench()]);
  }
  if (ONLY.has('idle')) {
    console.log('\nMemory per idle signed-in connection');
    console.table(await idleMemoryBench());
  }
  if (ONLY.has('heal')) {
    console.log('\nHealing after a 5 s broker cut of one of 3 replicas (6 people chatting meanwhile; a quiet room: 1 reader per replica who never sends, senders on the other replicas)');
    console.table(await healBench());
  }
  if (ONLY.has('fanout')) {
    console.log(`\nFan-out: ${CLIENTS} clients in one room spread over the replicas, ${MESSAGES} messages sent one after another`);
    const fanOutRows = [];
    for (const broker of Object.keys(BROKERS)) fanOutRows.push(await fanOut(broker));
    console.table(fanOutRows);
  }
  if (ONLY.has('history')) {
    console.log(`\nHistory: median of 30 queries (limit 51 = a page of 50 plus one to know if there are more)`);
    const ferret = await startFerretDB();
    const mongo = await connectStore(loadConfig({ MONGO_URL: ferret.url(), LOG_LEVEL: 'silent' }), silentLogger);
    try {
      console.table([await history('memory', createMemoryStore()), await history('mongodb (FerretDB 1.24, PostgreSQL)', mongo)]);
    } finally {
      await mongo.close();
      await ferret.destroy();
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
