/**
 * Time to heal after a broker cut, per broker: three replicas in this process sharing one
 * store (the memory store is one object, so every replica reads what the others wrote),
 * replica 1 reaching the broker through a TCP proxy that is cut while the chatting people
 * send; from the moment the link is restored until every person shows every message (by
 * the recovery protocol of src/shared/timeline.ts).
 *
 * Beside them, a quiet room: one reader per replica who never sends, and one sender on each
 * of the two other replicas. Nobody on the cut replica writes there, so its reader sees no
 * seq of that room during the cut (no live message, no `rooms:heads`) and cannot notice a
 * gap: what it missed comes back only through the resync path once the link is back (the
 * server's `resync` event, then `message:since`). In the chatting room a gap shows at the
 * next message of someone on the same replica, so most of a cut heals before the link returns.
 */
import { performance } from 'node:perf_hooks';
import { connect, expectOk, request, signIn } from '../test/helpers/client';
import { BROKER_URLS, brokerEnv, waitFor, type BrokerName } from '../test/helpers/cluster';
import { uniqueId } from '../test/helpers/net';
import { startServer, type TestServer } from '../test/helpers/server';
import { syncedPerson, type SyncedPerson } from '../test/helpers/synced';
import { startTcpProxy } from '../test/helpers/tcp-proxy';
import { createMemoryStore } from '../src/store/memory';

const URL_VARIABLE: Record<BrokerName, string> = { redis: 'REDIS_URL', rabbitmq: 'RABBIT_URL', nats: 'NATS_URL' };
const CUT_MS = 5000;
const HEAL_LIMIT_MS = 60_000;

async function healOnce(kind: BrokerName) {
  const target = new URL(BROKER_URLS[kind]);
  const proxy = await startTcpProxy(target.hostname, Number(target.port));
  const store = createMemoryStore();
  const env = {
    ...brokerEnv(kind, { prefix: uniqueId('heal-'), heartbeat: { intervalMs: 2000, timeoutMs: 4500 } }),
    MESSAGE_RATE_LIMIT: '100000',
    MAX_SOCKETS_PER_ADDRESS: '1000000',
  };
  const replicas: TestServer[] = [];
  const people: SyncedPerson[] = [];
  const readers: SyncedPerson[] = [];
  const quietSenders: SyncedPerson[] = [];
  try {
    for (const own of [{ [URL_VARIABLE[kind]]: proxy.url(BROKER_URLS[kind]) }, {}, {}]) replicas.push(await startServer({ env: { ...env, ...own }, store }));
    const host = await connect(replicas[0]!.url, (await signIn(replicas[0]!.url, uniqueId('Host'))).cookie);
    const roomId = expectOk(await request(host, 'room:create', { name: uniqueId('heal ') })).room.id;
    const quietRoomId = expectOk(await request(host, 'room:create', { name: uniqueId('quiet ') })).room.id;
    host.close();
    for (const replica of replicas) for (const n of [1, 2]) people.push(await syncedPerson(replica.url, uniqueId(`P${n}-`), roomId));
    // The quiet room: readers, one per replica (readers[0] is on the cut replica), who never
    // send; its senders are on the replicas that keep their link.
    for (const replica of replicas) readers.push(await syncedPerson(replica.url, uniqueId('Reader-'), quietRoomId));
    for (const replica of replicas.slice(1)) quietSenders.push(await syncedPerson(replica.url, uniqueId('Q-'), quietRoomId));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // presence and heartbeats settle

    await proxy.refuse();
    proxy.drop();
    await waitFor(() => !replicas[0]!.broker.isConnected(), 'the link to drop');
    const ids = new Set<string>();
    const quietIds = new Set<string>();
    const cutStarted = performance.now();
    let sent = 0;
    // Everyone keeps chatting during the cut: one message per person (readers aside) every 250 ms.
    while (performance.now() - cutStarted < CUT_MS) {
      for (const person of people) ids.add((await person.send(`during ${sent++}`)).id);
      for (const person of quietSenders) quietIds.add((await person.send(`quiet ${sent++}`)).id);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const missingAtRestore = [...quietIds].filter((id) => !readers[0]!.messages().some((m) => m.id === id)).length;
    const restored = performance.now();
    await proxy.accept();
    // Each person's own time until it shows every message of its room sent during the cut (null: not within the limit).
    const healed = (person: SyncedPerson, wanted: Set<string>) =>
      person.until(wanted, HEAL_LIMIT_MS).then(
        () => (performance.now() - restored) / 1000,
        () => null,
      );
    const [peopleTimes, readerTimes] = await Promise.all([
      Promise.all(people.map((p) => healed(p, ids))),
      Promise.all([...readers, ...quietSenders].map((p) => healed(p, quietIds))),
    ]);
    const latest = (times: (number | null)[]) => (times.some((t) => t === null) ? `not in ${HEAL_LIMIT_MS / 1000} s` : Math.max(...(times as number[])).toFixed(2));
    const shown = (group: SyncedPerson[], wanted: Set<string>) =>
      `${group.reduce((sum, p) => sum + p.messages().filter((m) => wanted.has(m.id)).length, 0)}/${wanted.size * group.length}`;
    return {
      broker: kind,
      'sent during the cut': ids.size,
      'shown in the end': shown(people, ids),
      'healed after (s)': latest(peopleTimes),
      'quiet room: sent': quietIds.size,
      'cut reader lacked at restore': missingAtRestore,
      'cut reader healed after (s)': latest(readerTimes.slice(0, 1)),
      'others there healed after (s)': latest(readerTimes.slice(1)),
      'quiet room: shown': shown([...readers, ...quietSenders], quietIds),
      'live duplicates': [...people, ...readers, ...quietSenders].reduce((sum, p) => sum + p.liveDuplicates(), 0),
    };
  } finally {
    for (const person of [...people, ...readers, ...quietSenders]) person.close();
    for (const replica of replicas) await replica.close();
    await proxy.close();
  }
}

export async function healBench() {
  const rows = [];
  for (const kind of ['redis', 'rabbitmq', 'nats'] as const) rows.push(await healOnce(kind));
  return rows;
}
