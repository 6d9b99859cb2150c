/**
 * The full chat path under load, beside bare Socket.IO doing the same job in the same run:
 * N signed-in WebSocket clients over R rooms, one sender per room, a rate ladder with
 * exactly-once accounting per person: each (client, message) pair is counted, every member
 * of the message's room must get it exactly once and nobody else may get it. A step passes
 * with nothing lost, duplicated or misrouted, every send acknowledged, and p99 from send to
 * each delivery ≤ 200 ms; the saturation rate is the last step that passes.
 * Targets: bare Socket.IO, the chat on the memory store with 1 replica, and the chat on
 * FerretDB/PostgreSQL with BENCH_PATH_REPLICAS replicas (default 2,3) per broker.
 *
 * Also: presence in one big room (joins/s, bytes each member gets per change) and
 * memory per idle signed-in connection, each beside its baseline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { io as ioClient, type Socket } from 'socket.io-client';
import { startAppProcess, type AppProcess } from '../test/helpers/app-process';
import { expectOk, signIn } from '../test/helpers/client';
import { startFerretDB, type FerretDB } from '../test/helpers/ferretdb';
import { uniqueId } from '../test/helpers/net';
import { pool } from '../test/helpers/pool';

const CLIENTS = Number(process.env.BENCH_PATH_CLIENTS ?? 1000);
const ROOMS = Number(process.env.BENCH_PATH_ROOMS ?? 10);
const STEP_SECONDS = Number(process.env.BENCH_PATH_STEP_SECONDS ?? 4);
const LADDER = (process.env.BENCH_PATH_LADDER ?? '25,50,100,200,300,400,600,800,1000,1200,1600').split(',').map(Number);
const PRESENCE_ROOM = Number(process.env.BENCH_PRESENCE_PEOPLE ?? 5000);
const IDLE = Number(process.env.BENCH_IDLE_SOCKETS ?? 1000);
const P99_LIMIT_MS = 200;

const BROKER_ENV: Record<string, Record<string, string>> = {
  none: {},
  redis: { REDIS_URL: 'redis://127.0.0.1:6379' },
  rabbitmq: { RABBIT_URL: 'amqp://guest:guest@127.0.0.1:5672' },
  nats: { NATS_URL: 'nats://127.0.0.1:4222' },
};

type Client = Socket;

interface Target {
  name: string;
  urls: string[];
  pids: number[];
  /** Signs person `i` in ahead of `connect` (the chat only), so memory can be measured without it. */
  prepare(i: number): Promise<void>;
  /** Connects client `i` (signed in where the target has people). */
  connect(i: number): Promise<Client>;
  /** Puts a connected client in room `room`. */
  enter(socket: Client, room: number): Promise<void>;
  /** The `message:send` payload for room `room`. */
  payload(room: number, text: string, clientId: string): object;
  stop(): Promise<void>;
}

/** The p-th percentile of the values (nearest rank). */
export const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

function connectSocket(url: string, options: { cookie?: string; auth?: object }): Promise<Client> {
  const socket = ioClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    extraHeaders: options.cookie ? { cookie: options.cookie } : undefined,
    auth: options.auth,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

async function startBare(): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'bare-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (line: Buffer) => resolve(JSON.parse(line.toString()).port)));
  const url = `http://127.0.0.1:${port}`;
  return {
    name: 'bare Socket.IO',
    urls: [url],
    pids: [child.pid!],
    prepare: async () => {},
    connect: () => connectSocket(url, {}),
    enter: async (socket, room) => {
      await socket.timeout(30_000).emitWithAck('room:join', { room: `room${room}` });
    },
    payload: (_room, text, clientId) => ({ text, clientId }),
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function startChat(options: { broker: string; replicas: number; mongoUrl?: string }): Promise<Target> {
  const env = {
    ...BROKER_ENV[options.broker],
    BROKER_PREFIX: uniqueId('bench-'),
    SESSION_SECRET: 'bench-secret-bench-secret-0123',
    LOG_LEVEL: 'warn',
    SIGNIN_RATE_LIMIT: '100000',
    MESSAGE_RATE_LIMIT: '100000',
    ROOM_RATE_LIMIT: '100000',
    // Every simulated person connects from 127.0.0.1.
    MAX_SOCKETS_PER_ADDRESS: '1000000',
    ...(options.mongoUrl ? { MONGO_URL: options.mongoUrl } : {}),
  };
  const apps: AppProcess[] = await Promise.all(
    Array.from({ length: options.replicas }, (_, i) => startAppProcess({ ...env, INSTANCE_NAME: `bench-${i + 1}` }, { waitFor: 'readyz' })),
  );
  const urls = apps.map((a) => a.url);
  // Rooms are created once, through the first replica.
  const host = await signIn(urls[0]!, uniqueId('host'));
  const hostSocket = await connectSocket(urls[0]!, { cookie: host.cookie });
  const roomIds: string[] = [];
  for (let r = 0; r < Math.max(ROOMS, 1); r += 1) {
    const ack = await hostSocket.timeout(30_000).emitWithAck('room:create', { name: uniqueId(`bench ${r} `) });
    roomIds.push(expectOk(ack as never as { ok: true; room: { id: string } }).room.id);
  }
  hostSocket.close();
  const cookies = new Map<number, string>();
  const prepare = async (i: number) => {
    const url = urls[i % urls.length]!;
    cookies.set(i, (await signIn(url, `p${i} ${Math.random().toString(36).slice(2, 10)}`)).cookie);
  };
  return {
    name: `chat, ${options.mongoUrl ? 'FerretDB/PostgreSQL' : 'memory store'}, ${options.broker === 'none' ? 'no broker' : options.broker}, ${options.replicas} replica${options.replicas > 1 ? 's' : ''}`,
    urls,
    pids: apps.map((a) => a.child.pid!),
    payload: (room, text, clientId) => ({ roomId: roomIds[room], text, clientId }),
    prepare,
    async connect(i) {
      if (!cookies.has(i)) await prepare(i);
      return connectSocket(urls[i % urls.length]!, { cookie: cookies.get(i)! });
    },
    async enter(socket, room) {
      const ack = (await socket.timeout(30_000).emitWithAck('room:join', { roomId: roomIds[room] })) as { ok: boolean };
      if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
    },
    stop: async () => {
      await Promise.all(apps.map((a) => a.stop()));
    },
  };
}


export interface StepResult {
  rate: number;
  sent: number;
  /** Acknowledged with ok. */
  acked: number;
  expected: number;
  /** First deliveries to members of the message's room. */
  delivered: number;
  /** (member, message) pairs that never arrived. */
  lost: number;
  /** Deliveries to a member beyond the first. */
  duplicated: number;
  /** Deliveries to someone outside the message's room. */
  misrouted: number;
  p50: number;
  p99: number;
  ackP99: number;
  deliveriesPerSecond: number;
  pass: boolean;
}

export interface PathResult {
  target: string;
  replicas: number;
  signInSeconds: number;
  joinSeconds: number;
  steps: StepResult[];
  saturation: number;
}

/** One step's ledger: how often each client got each message, kept after the step to catch late arrivals. */
interface Ledger {
  step: StepResult;
  /** counts[slot * CLIENTS + client]: deliveries of send `slot` to client `client` (saturates at 255). */
  counts: Uint8Array;
  rooms: Uint16Array;
  latencies: number[];
  firstDeliveries: number;
  allDeliveries: number;
}

const roomOf = (client: number) => client % ROOMS;

/** Counts the ledger per (client, message): each member once, nobody else. */
function tally(ledger: Ledger, clients: number) {
  let delivered = 0;
  let lost = 0;
  let duplicated = 0;
  let misrouted = 0;
  for (let slot = 0; slot < ledger.step.sent; slot += 1) {
    const room = ledger.rooms[slot]!;
    const base = slot * clients;
    for (let client = 0; client < clients; client += 1) {
      const got = ledger.counts[base + client]!;
      if (roomOf(client) !== room) misrouted += got;
      else if (got === 0) lost += 1;
      else {
        delivered += 1;
        duplicated += got - 1;
      }
    }
  }
  const { step } = ledger;
  Object.assign(step, { delivered, lost, duplicated, misrouted });
  step.pass = lost === 0 && duplicated === 0 && misrouted === 0 && step.acked === step.sent && step.p99 <= P99_LIMIT_MS;
}

/** Joins CLIENTS people over ROOMS rooms, then climbs the rate ladder until a step fails. */
async function ladder(target: Target): Promise<PathResult> {
  // Sign-in (the chat's people) and connecting, then the joins alone on the clock.
  const signInStarted = performance.now();
  const clients = await pool(CLIENTS, 50, (i) => target.connect(i));
  const signInSeconds = (performance.now() - signInStarted) / 1000;
  const joinStarted = performance.now();
  await pool(CLIENTS, 100, (i) => target.enter(clients[i]!, roomOf(i)));
  const joinSeconds = (performance.now() - joinStarted) / 1000;
  const members = Array.from({ length: ROOMS }, (_, room) => clients.filter((_, i) => roomOf(i) === room).length);

  // Every send of the run by its clientId: its step's ledger, slot, room and send time.
  const sends = new Map<string, { ledger: Ledger; slot: number; room: number; at: number }>();
  clients.forEach((socket, client) => {
    socket.on('message', (message: { clientId?: string }) => {
      const send = sends.get(message.clientId ?? '');
      if (!send) return;
      const { ledger } = send;
      const index = send.slot * CLIENTS + client;
      const got = ledger.counts[index]!;
      if (got < 255) ledger.counts[index] = got + 1;
      ledger.allDeliveries += 1;
      if (got === 0 && roomOf(client) === send.room) {
        ledger.firstDeliveries += 1;
        ledger.latencies.push(performance.now() - send.at);
      }
    });
  });
  const senders = Array.from({ length: ROOMS }, (_, room) => clients[room]!); // client `room` is in room `room`

  const ledgers: Ledger[] = [];
  const run = Math.random().toString(36).slice(2, 10);
  try {
    for (const rate of LADDER) {
      const total = Math.round(rate * STEP_SECONDS);
      const step: StepResult = {
        rate,
        sent: 0,
        acked: 0,
        expected: 0,
        delivered: 0,
        lost: 0,
        duplicated: 0,
        misrouted: 0,
        p50: NaN,
        p99: NaN,
        ackP99: NaN,
        deliveriesPerSecond: 0,
        pass: false,
      };
      const ledger: Ledger = { step, counts: new Uint8Array(total * CLIENTS), rooms: new Uint16Array(total), latencies: [], firstDeliveries: 0, allDeliveries: 0 };
      ledgers.push(ledger);
      const acks: number[] = [];
      const started = performance.now();
      const pending: Promise<void>[] = [];
      // Sends are spread evenly over the step, round-robin over the rooms' senders.
      while (step.sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
        for (; step.sent < due; step.sent += 1) {
          const slot = step.sent;
          const room = slot % ROOMS;
          const clientId = `s${rate}-${slot}-${run}`;
          const at = performance.now();
          ledger.rooms[slot] = room;
          sends.set(clientId, { ledger, slot, room, at });
          step.expected += members[room]!;
          pending.push(
            senders[room]!.timeout(10_000)
              .emitWithAck('message:send', target.payload(room, `bench ${slot}`, clientId))
              .then(
                (ack: { ok?: boolean }) => {
                  if (ack?.ok !== true) return;
                  step.acked += 1;
                  acks.push(performance.now() - at);
                },
                () => undefined,
              ),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await Promise.all(pending);
      // Grace for the last deliveries: until every member got each, or 2 s without any delivery.
      let last = -1;
      for (let idle = 0; idle < 20 && ledger.firstDeliveries < step.expected; ) {
        if (ledger.allDeliveries === last) idle += 1;
        else idle = 0;
        last = ledger.allDeliveries;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const seconds = (performance.now() - started) / 1000;
      const sorted = ledger.latencies.sort((a, b) => a - b);
      step.p50 = percentile(sorted, 50);
      step.p99 = percentile(sorted, 99);
      step.ackP99 = percentile(acks, 99);
      step.deliveriesPerSecond = Math.round(ledger.firstDeliveries / seconds);
      tally(ledger, CLIENTS);
      if (!step.pass) break;
    }
    // Duplicates or strays of a step may arrive during the next ones: wait a moment, count them all again.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    for (const socket of clients) socket.close();
  }
  for (const ledger of ledgers) tally(ledger, CLIENTS);
  const steps = ledgers.map((l) => l.step);
  // The saturation is the top of the passing steps below the first that failed.
  const firstFail = steps.findIndex((s) => !s.pass);
  const passed = firstFail === -1 ? steps : steps.slice(0, firstFail);
  return { target: target.name, replicas: target.urls.length, signInSeconds, joinSeconds, steps, saturation: passed.at(-1)?.rate ?? 0 };
}

/** FerretDB targets: how many replicas per broker (`1` is one replica with no broker, run once). */
const PATH_REPLICAS = (process.env.BENCH_PATH_REPLICAS ?? '2,3').split(',').map(Number);

export async function chatPathBench(): Promise<PathResult[]> {
  const results: PathResult[] = [];
  const run = async (start: () => Promise<Target>) => {
    const target = await start();
    try {
      results.push(await ladder(target));
    } finally {
      await target.stop();
    }
    printPath(results.at(-1)!);
  };
  const onFerret = async (broker: string, replicas: number) => {
    const ferret: FerretDB = await startFerretDB();
    try {
      await run(() => startChat({ broker, replicas, mongoUrl: ferret.url() }));
    } finally {
      await ferret.destroy();
    }
  };
  await run(startBare);
  await run(() => startChat({ broker: 'none', replicas: 1 }));
  if (PATH_REPLICAS.includes(1)) await onFerret('none', 1);
  for (const broker of ['redis', 'rabbitmq', 'nats']) {
    for (const replicas of PATH_REPLICAS.filter((n) => n > 1)) await onFerret(broker, replicas);
  }
  return results;
}

/** Why a step failed, in a few words. */
function failure(s: StepResult): string {
  const why = [
    s.lost > 0 && `${s.lost} lost`,
    s.duplicated > 0 && `${s.duplicated} duplicated`,
    s.misrouted > 0 && `${s.misrouted} misrouted`,
    s.acked < s.sent && `${s.sent - s.acked} not acked`,
    !(s.p99 <= P99_LIMIT_MS) && `p99 ${Number.isNaN(s.p99) ? '-' : `${s.p99.toFixed(0)} ms`}`,
  ].filter(Boolean);
  return `${s.rate}: ${why.join(', ')}`;
}

function printPath(result: PathResult) {
  console.log(
    `\n${result.target}: ${CLIENTS} people signed in and connected in ${result.signInSeconds.toFixed(1)} s, joined ${ROOMS} rooms in ${result.joinSeconds.toFixed(1)} s; saturation ${result.saturation} msg/s`,
  );
  console.table(
    result.steps.map((s) => ({
      'msg/s asked': s.rate,
      sent: s.sent,
      acked: s.acked,
      'deliveries/s': s.deliveriesPerSecond,
      lost: s.lost,
      duplicated: s.duplicated,
      misrouted: s.misrouted,
      'p50 ms': s.p50.toFixed(1),
      'p99 ms': s.p99.toFixed(1),
      'ack p99 ms': s.ackP99.toFixed(1),
      pass: s.pass ? 'yes' : 'no',
    })),
  );
}

export function pathSummary(results: PathResult[]) {
  const bare = results[0]!;
  return results.map((r) => {
    const top = r.steps.find((s) => s.rate === r.saturation);
    const failed = r.steps.find((s) => !s.pass);
    return {
      target: r.target,
      'join all (s)': r.joinSeconds.toFixed(1),
      'saturation msg/s': r.saturation,
      'deliveries/s there': top?.deliveriesPerSecond ?? 0,
      'p99 there (ms)': top ? top.p99.toFixed(1) : '-',
      'vs bare': bare.saturation > 0 ? `${Math.round((100 * r.saturation) / bare.saturation)}%` : '-',
      'next step failed by': failed ? failure(failed) : 'top of the ladder',
    };
  });
}

/**
 * Per target: a bar of deliveries/s at saturation (with msg/s and the share of bare's),
 * a bar of p99 there, and the ladder (each step passed, failed, or not run): an SVG.
 */
export function pathChart(results: PathResult[], file: string) {
  const rowHeight = 30;
  const left = 350;
  const barWidth = 220;
  const p99Left = left + barWidth + 250;
  const p99Width = 120;
  const ladderLeft = p99Left + p99Width + 90;
  const cell = 34;
  const width = ladderLeft + Math.max(LADDER.length * cell, 260) + 20;
  const bare = results[0]?.saturation ?? 0;
  const maxDeliveries = Math.max(1, ...results.map((r) => r.steps.find((s) => s.rate === r.saturation)?.deliveriesPerSecond ?? 0));
  const header = LADDER.map(
    (rate, i) => `
  <text x="${ladderLeft + i * cell + cell / 2}" y="68" text-anchor="middle" font-size="10">${rate}</text>`,
  ).join('');
  const rows = results.map((r, i) => {
    const top = r.steps.find((s) => s.rate === r.saturation);
    const y = 76 + i * rowHeight;
    const w = ((top?.deliveriesPerSecond ?? 0) / maxDeliveries) * barWidth;
    const p99 = top ? Math.min(top.p99, P99_LIMIT_MS) : 0;
    const pw = (p99 / P99_LIMIT_MS) * p99Width;
    const share = bare > 0 ? ` · ${Math.round((100 * r.saturation) / bare)}%` : '';
    const firstFail = r.steps.findIndex((s) => !s.pass);
    const cells = LADDER.map((rate, k) => {
      const step = r.steps.find((s) => s.rate === rate);
      const fill = !step ? '#e5e7eb' : step.pass && (firstFail === -1 || k < firstFail) ? '#16a34a' : '#dc2626';
      return `<rect x="${ladderLeft + k * cell + 2}" y="${y + 2}" width="${cell - 4}" height="18" fill="${fill}"/>`;
    }).join('');
    return `
  <text x="${left - 10}" y="${y + 16}" text-anchor="end">${escape(r.target)}</text>
  <rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="22" fill="#4f46e5"/>
  <text x="${(left + w + 6).toFixed(1)}" y="${y + 16}">${(top?.deliveriesPerSecond ?? 0).toLocaleString('en')} /s (${r.saturation} msg/s${share})</text>
  <rect x="${p99Left}" y="${y}" width="${pw.toFixed(1)}" height="22" fill="#f59e0b"/>
  <text x="${(p99Left + pw + 6).toFixed(1)}" y="${y + 16}">${top ? top.p99.toFixed(0) : '-'} ms</text>
  ${cells}`;
  });
  const height = 90 + results.length * rowHeight;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="13">
  <rect width="100%" height="100%" fill="#fff"/>
  <text x="10" y="24" font-size="15" font-weight="bold">Chat path: ${CLIENTS} clients in ${ROOMS} rooms, highest rate with every member getting every message once and p99 ≤ ${P99_LIMIT_MS} ms</text>
  <text x="${left}" y="52" fill="#4f46e5">deliveries/s at saturation (msg/s · vs bare)</text>
  <text x="${p99Left}" y="52" fill="#b45309">p99 send → delivery there</text>
  <text x="${ladderLeft}" y="52" font-size="11">ladder, msg/s: <tspan fill="#16a34a">passed</tspan> · <tspan fill="#dc2626">failed</tspan> · <tspan fill="#9ca3af">not run</tspan></text>${header}${rows.join('')}
</svg>
`;
  writeFileSync(file, svg);
}

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');

function rssKiB(pid: number): number {
  const match = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? NaN);
}

/** Server memory per idle signed-in connection, chat vs bare Socket.IO. */
export async function idleMemoryBench() {
  const rows = [];
  for (const start of [startBare, () => startChat({ broker: 'none', replicas: 1 })]) {
    const target = await start();
    const clients: Client[] = [];
    try {
      const first = await target.connect(0);
      await target.enter(first, 0);
      clients.push(first);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const base = rssKiB(target.pids[0]!);
      // Signed in first: the connections are measured apart from the accounts and sessions.
      await pool(IDLE, 50, (i) => target.prepare(i + 1));
      await new Promise((resolve) => setTimeout(resolve, 6000)); // sign-in HTTP keep-alives close
      const before = rssKiB(target.pids[0]!);
      clients.push(
        ...(await pool(IDLE, 50, async (i) => {
          const socket = await target.connect(i + 1);
          await target.enter(socket, (i + 1) % ROOMS);
          return socket;
        })),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const after = rssKiB(target.pids[0]!);
      rows.push({
        target: target.name,
        connections: IDLE,
        'RSS at start (MiB)': (base / 1024).toFixed(1),
        'KiB per sign-in (account, session)': ((before - base) / IDLE).toFixed(1),
        'RSS before connecting (MiB)': (before / 1024).toFixed(1),
        'RSS after (MiB)': (after / 1024).toFixed(1),
        'KiB per idle connection': ((after - before) / IDLE).toFixed(1),
      });
    } finally {
      for (const socket of clients) socket.close();
      await target.stop();
    }
  }
  return rows;
}

/**
 * Presence in one big room: how fast people join it, and what one more join or leave
 * costs each member (bytes of the events they get), beside the size of the full list
 * a member would get if every change sent it.
 */
export async function presenceBench() {
  const target = await startChat({ broker: 'none', replicas: 1 });
  const clients: Client[] = [];
  try {
    clients.push(...(await pool(PRESENCE_ROOM, 50, (i) => target.connect(i))));
    const started = performance.now();
    await pool(PRESENCE_ROOM, 100, (i) => target.enter(clients[i]!, 0));
    const joinSeconds = (performance.now() - started) / 1000;
    // Let the deltas of the joins settle, then measure single changes at a sample of members.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const sample = clients.slice(0, 100);
    let bytes = 0;
    let events = 0;
    const count = (delta: unknown) => {
      bytes += Buffer.byteLength(JSON.stringify(delta));
      events += 1;
    };
    for (const socket of sample) socket.on('presence:delta', count);
    const CHANGES = 20;
    for (let i = 0; i < CHANGES; i += 1) {
      const newcomer = await target.connect(PRESENCE_ROOM + i);
      await target.enter(newcomer, 0);
      // A join and then a leave, each its own change (the deltas are sent every 250 ms).
      await new Promise((resolve) => setTimeout(resolve, 300));
      newcomer.close();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const socket of sample) socket.off('presence:delta', count);
    // Everyone but one leaves at once: how long until the one left sees the room empty but for them.
    const [observer, ...leaving] = clients;
    const alone = new Promise<void>((resolve) =>
      observer!.on('presence:delta', (delta: { count: number }) => {
        if (delta.count === 1) resolve();
      }),
    );
    const leaveStarted = performance.now();
    for (const socket of leaving) socket.close();
    await alone;
    const leaveSeconds = (performance.now() - leaveStarted) / 1000;
    const fullList = Buffer.byteLength(
      JSON.stringify({ users: Array.from({ length: PRESENCE_ROOM }, (_, i) => ({ id: 'f'.repeat(24), name: `person ${i}`, avatarUrl: null })) }),
    );
    return {
      people: PRESENCE_ROOM,
      'join all (s)': joinSeconds.toFixed(1),
      'joins/s': Math.round(PRESENCE_ROOM / joinSeconds),
      'leaves/s': Math.round((PRESENCE_ROOM - 1) / leaveSeconds),
      'events per member per change': (events / sample.length / (2 * CHANGES)).toFixed(2),
      'bytes per member per change': Math.round(bytes / sample.length / (2 * CHANGES)),
      'full list (bytes, the old way)': fullList,
    };
  } finally {
    for (const socket of clients) socket.close();
    await target.stop();
  }
}
