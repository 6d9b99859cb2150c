import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Broker } from '../adapters/broker';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import { roomChannel, type ChatIO } from '../realtime';
import type { ClusterView, ReplicaFigures } from '../shared/cluster';
import type { Store } from '../store/types';
import { observeMessageDelivery } from './delivery';
import { createSampler } from './figures';
import { ReplicaRegistry } from './registry';
import { replicaFigures } from './schema';

export interface ClusterDeps {
  io: ChatIO;
  instance: string;
  broker: Pick<Broker, 'kind' | 'target'>;
  /** The broker link, including the adapter's own channel (what /readyz checks). */
  brokerConnected(): boolean;
  store: Pick<Store, 'kind' | 'isReady'>;
  /** The adapter's heartbeat timeout: a replica silent this long leaves the view. */
  timeoutMs: number;
  metrics: Metrics;
  logger: Logger;
}

export interface ClusterExchange {
  /** This replica's id in the view. */
  readonly id: string;
  /** The figures of every live replica, this one included; details only for an operator. */
  view(access: ClusterView['access']): ClusterView;
  /** This replica's latest figures (for the Prometheus gauges). */
  local(): ReplicaFigures;
  /** Says goodbye so the others drop this replica at once; call before the adapter closes. */
  close(): void;
}

const VERSION = readVersion();

/**
 * Each replica sends its figures to the others through the Socket.IO adapter
 * (serverSideEmit: whatever broker links them, never the store) once per
 * interval, and keeps what it hears in a registry. One small message per
 * replica per interval: the cost grows with replicas, not with people.
 */
export function createClusterExchange(deps: ClusterDeps): ClusterExchange {
  const { io } = deps;
  const nsp = io.of('/');
  const log = deps.logger.child({ component: 'cluster' });
  const id = randomUUID();
  const clustered = deps.broker.kind !== 'none';
  // Several samples per timeout, so one late message never drops a live replica.
  const intervalMs = Math.min(1000, Math.floor(deps.timeoutMs / 3));
  const registry = new ReplicaRegistry(deps.timeoutMs);

  // People and rooms are counted as they change, so sampling costs nothing per person.
  const socketsPerPerson = new Map<string, number>();
  io.on('connection', (socket) => {
    const userId = socket.data.user?.id;
    if (!userId) return;
    socketsPerPerson.set(userId, (socketsPerPerson.get(userId) ?? 0) + 1);
    socket.on('disconnect', () => {
      const left = (socketsPerPerson.get(userId) ?? 1) - 1;
      if (left > 0) socketsPerPerson.set(userId, left);
      else socketsPerPerson.delete(userId);
    });
  });
  const roomPrefix = roomChannel('');
  let rooms = 0;
  nsp.adapter.on('create-room', (room: unknown) => typeof room === 'string' && room.startsWith(roomPrefix) && rooms++);
  nsp.adapter.on('delete-room', (room: unknown) => typeof room === 'string' && room.startsWith(roomPrefix) && rooms--);

  let storeReady = true;
  let checkingStore = false;
  const checkStore = () => {
    if (checkingStore) return;
    checkingStore = true;
    deps.store
      .isReady()
      .then((ready) => (storeReady = ready), () => (storeReady = false))
      .finally(() => (checkingStore = false));
  };

  const sampler = createSampler({
    id,
    instance: deps.instance,
    version: VERSION,
    brokerKind: deps.broker.kind,
    brokerTarget: deps.broker.target,
    brokerConnected: deps.brokerConnected,
    storeKind: deps.store.kind,
    storeReady: () => storeReady,
    adapter: nsp.adapter,
    sockets: () => nsp.sockets.size,
    people: () => socketsPerPerson.size,
    rooms: () => rooms,
  });
  let latest = sampler.sample();
  registry.update(latest);

  io.on('cluster:figures', (payload: unknown) => {
    const parsed = replicaFigures.safeParse(payload);
    if (!parsed.success) return log.debug({ issues: parsed.error.issues.slice(0, 3) }, 'ignored malformed replica figures');
    if (parsed.data.id === id) return;
    registry.update(parsed.data);
    // Clocks of different hosts may disagree a little: negative times are skew, not latency.
    const crossing = (Date.now() - parsed.data.sampledAt) / 1000;
    if (crossing >= 0) deps.metrics.figuresCrossing.observe({ broker: deps.broker.kind }, crossing);
  });
  observeMessageDelivery(nsp.adapter, (seconds) => deps.metrics.messageDelivery.observe({ broker: deps.broker.kind }, seconds));
  io.on('cluster:leave', (replicaId: unknown) => {
    if (typeof replicaId === 'string') registry.remove(replicaId);
  });

  const tick = () => {
    checkStore();
    latest = sampler.sample();
    registry.update(latest);
    registry.sweep();
    // Cut off, nothing would arrive; node-redis would only queue (and later reject) the publishes.
    if (clustered && latest.broker.connected) io.serverSideEmit('cluster:figures', latest);
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();

  let closed = false;
  return {
    id,
    view(access) {
      const replicas = registry.list().map((figures) => (access === 'operator' ? figures : withoutDetails(figures)));
      return { access, servedBy: id, timeoutMs: deps.timeoutMs, intervalMs, replicas };
    },
    local: () => latest,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      sampler.stop();
      if (clustered && deps.brokerConnected()) io.serverSideEmit('cluster:leave', id);
    },
  };
}

function withoutDetails({ operator: _details, ...counts }: ReplicaFigures): ReplicaFigures {
  return counts;
}

function readVersion(): string {
  try {
    // dist/cluster/ and src/cluster/ both sit two levels below package.json (the image copies it).
    const pkg = JSON.parse(readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
