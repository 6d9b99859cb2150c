/**
 * Does group commit help on FerretDB? In this process, against a FerretDB/PostgreSQL
 * store: N sends into one room, fired in bursts of B at once (the next burst when the
 * last one is stored), either through the app's writer (src/services/message-writer.ts:
 * sends that arrive while the room is being written wait and go together) or as one
 * `store.messages.append(roomId, [message])` per send. Round trips are FerretDB's own
 * per-command counters (as test/send-path.test.ts reads them), so retries after a seq
 * collision count too; store calls are the writer's calls of `append`.
 */
import { performance } from 'node:perf_hooks';
import { startFerretDB, type FerretDB } from '../test/helpers/ferretdb';
import { uniqueId } from '../test/helpers/net';
import { percentile } from './chat-path';
import { silentLogger } from '../src/lib/logger';
import { createMessageWriter } from '../src/services/message-writer';
import { connectMongoStore } from '../src/store/mongo/store';
import type { AppendedMessage, NewMessage, Store } from '../src/store/types';

const SENDS = Number(process.env.BENCH_GC_SENDS ?? 200);
const BURSTS = (process.env.BENCH_GC_BURSTS ?? '1,20').split(',').map(Number);

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).flatMap(([command, n]) => (n - (before[command] ?? 0) > 0 ? [[command, n - (before[command] ?? 0)]] : [])));

async function measure(ferret: FerretDB, store: Store, mode: 'direct' | 'group commit', burst: number) {
  const author = await store.users.findOrCreateByName(uniqueId('gc'));
  const room = await store.rooms.create(uniqueId('gc room '));
  let storeCalls = 0;
  const counted: Store = {
    ...store,
    messages: {
      ...store.messages,
      append: (roomId, messages) => {
        storeCalls += 1;
        return store.messages.append(roomId, messages);
      },
    },
  };
  const writer = createMessageWriter(counted);
  const send: (message: NewMessage) => Promise<AppendedMessage | null> =
    mode === 'direct' ? async (message) => (await counted.messages.append(room.id, [message]))?.[0] ?? null : (message) => writer.append(room.id, message);
  // The room's first write (and the connection pool) warmed up apart.
  await send({ authorId: author.id, text: 'warm-up', clientId: uniqueId('w') });
  storeCalls = 0;

  const before = await ferret.commands();
  const times: number[] = [];
  const seqs: number[] = [];
  let failed = 0;
  const started = performance.now();
  for (let done = 0; done < SENDS; done += burst) {
    await Promise.all(
      Array.from({ length: Math.min(burst, SENDS - done) }, async (_, i) => {
        const at = performance.now();
        try {
          const result = await send({ authorId: author.id, text: `gc ${done + i}`, clientId: uniqueId('c') });
          if (!result) throw new Error('room not found');
          seqs.push(result.record.seq);
          times.push(performance.now() - at);
        } catch {
          failed += 1;
        }
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  const used = diff(await ferret.commands(), before);
  const roundTrips = Object.values(used).reduce((a, b) => a + b, 0);
  return {
    path: mode === 'direct' ? 'append([one]) per send' : 'createMessageWriter (group commit)',
    'at once': burst,
    sends: SENDS,
    failed,
    'seqs distinct': new Set(seqs).size === seqs.length ? 'yes' : 'NO',
    'sends/s': Math.round((SENDS - failed) / seconds),
    'p50 ms': percentile(times, 50).toFixed(1),
    'p99 ms': percentile(times, 99).toFixed(1),
    'store calls/send': (storeCalls / SENDS).toFixed(2),
    'round trips/send': (roundTrips / SENDS).toFixed(2),
    commands: Object.entries(used)
      .map(([command, n]) => `${command} ${n}`)
      .join(', '),
  };
}

export async function groupCommitBench() {
  const ferret = await startFerretDB();
  const store = await connectMongoStore(
    { url: ferret.url(), sessionCleanup: 'interval', sessionTtlMs: 3_600_000, connect: { attempts: 3, initialDelayMs: 50 } },
    silentLogger,
  );
  const rows = [];
  try {
    for (const burst of BURSTS) {
      for (const mode of ['direct', 'group commit'] as const) rows.push(await measure(ferret, store, mode, burst));
    }
  } finally {
    await store.close();
    await ferret.destroy();
  }
  return rows;
}
