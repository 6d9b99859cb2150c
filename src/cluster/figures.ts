import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Adapter } from 'socket.io-adapter';
import type { ReplicaFigures } from '../shared/cluster';
import { trafficOf } from './traffic';

export interface FigureSources {
  id: string;
  instance: string;
  version: string;
  brokerKind: string;
  brokerTarget: string;
  brokerConnected(): boolean;
  storeKind: string;
  /** The store's readiness as last checked (the check itself is asynchronous). */
  storeReady(): boolean;
  adapter: Adapter;
  sockets(): number;
  people(): number;
  rooms(): number;
}

/**
 * Takes this replica's figures; rates and the event-loop delay cover the time
 * since the previous sample, so call it once per interval.
 */
export function createSampler(sources: FigureSources): { sample(): ReplicaFigures; stop(): void } {
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  let previous = { at: Date.now(), sent: 0, received: 0 };
  let memory = { rss: 0, heapUsed: 0 };
  return {
    sample() {
      const now = Date.now();
      const traffic = trafficOf(sources.adapter);
      const sent = traffic?.broadcastsSent ?? 0;
      const received = traffic?.broadcastsReceived ?? 0;
      const seconds = Math.max((now - previous.at) / 1000, 0.001);
      const rate = (delta: number) => Math.round((Math.max(delta, 0) / seconds) * 10) / 10;
      memory = memoryNow(memory);
      const figures: ReplicaFigures = {
        id: sources.id,
        instance: sources.instance,
        version: sources.version,
        broker: { kind: sources.brokerKind, connected: sources.brokerConnected() },
        store: { kind: sources.storeKind, ready: sources.storeReady() },
        sockets: sources.sockets(),
        people: sources.people(),
        rooms: sources.rooms(),
        broadcasts: { sent, received },
        broadcastRates: { sentPerSecond: rate(sent - previous.sent), receivedPerSecond: rate(received - previous.received) },
        // Nanoseconds; NaN before the first measurement.
        eventLoopDelayMs: Math.round((loopDelay.percentile(99) || 0) / 1e4) / 100,
        memoryBytes: memory.rss,
        uptimeSeconds: Math.round(process.uptime()),
        sampledAt: now,
        operator: {
          brokerTarget: sources.brokerTarget,
          nodeVersion: process.version,
          pid: process.pid,
          heapUsedBytes: memory.heapUsed,
        },
      };
      previous = { at: now, sent, received };
      loopDelay.reset();
      return figures;
    },
    stop: () => loopDelay.disable(),
  };
}

/**
 * RSS and heap in use. Reading RSS opens /proc/self/stat, which throws EMFILE when every
 * descriptor is taken: a sample must never throw (it runs in a timer), so the last RSS stands.
 */
function memoryNow(last: { rss: number; heapUsed: number }): { rss: number; heapUsed: number } {
  try {
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed };
  } catch {
    return { rss: last.rss, heapUsed: getHeapStatistics().used_heap_size };
  }
}
