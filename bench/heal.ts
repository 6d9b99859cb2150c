/**
 * Time to heal after a broker cut, per broker: three replicas on one store, replica 1
 * reaching the broker through a TCP proxy that is cut while everyone sends; from the
 * moment the link is restored until every person shows every message (by the recovery
 * protocol of src/shared/timeline.ts).
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
  try {
    for (const own of [{ [URL_VARIABLE[kind]]: proxy.url(BROKER_URLS[kind]) }, {}, {}]) replicas.push(await startServer({ env: { ...env, ...own }, store }));
    const host = await connect(replicas[0]!.url, (await signIn(replicas[0]!.url, uniqueId('Host'))).cookie);
    const roomId = expectOk(await request(host, 'room:create', { name: uniqueId('heal ') })).room.id;
    host.close();
    for (const replica of replicas) for (const n of [1, 2]) people.push(await syncedPerson(replica.url, uniqueId(`P${n}-`), roomId));
    await new Promise((resolve) => setTimeout(resolve, 2500)); // presence and heartbeats settle

    await proxy.refuse();
    proxy.drop();
    await waitFor(() => !replicas[0]!.broker.isConnected(), 'the link to drop');
    const ids = new Set<string>();
    const cutStarted = performance.now();
    let sent = 0;
    // Everyone keeps chatting during the cut: one message per person every 250 ms.
    while (performance.now() - cutStarted < CUT_MS) {
      for (const person of people) ids.add((await person.send(`during ${sent++}`)).id);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const restored = performance.now();
    await proxy.accept();
    await Promise.all(people.map((p) => p.until(ids, 60_000)));
    const healSeconds = (performance.now() - restored) / 1000;
    const missedLive = people.reduce((sum, p) => sum + p.messages().length, 0);
    return { broker: kind, 'sent during the cut': ids.size, 'people': people.length, 'healed after (s)': healSeconds.toFixed(2), 'shown in the end': `${missedLive}/${ids.size * people.length}` };
  } finally {
    for (const person of people) person.close();
    for (const replica of replicas) await replica.close();
    await proxy.close();
  }
}

export async function healBench() {
  const rows = [];
  for (const kind of ['redis', 'rabbitmq', 'nats'] as const) rows.push(await healOnce(kind));
  return rows;
}
