import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReplicaFigures } from '../shared/cluster';

/** Socket acks and HTTP answers: a few ms normally, seconds when the store struggles. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Prometheus metrics of one server, served at GET /metrics. A registry per
 * server (not prom-client's global one) so tests can run several in one process.
 */
export function createMetrics(connectedSockets: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'chat_connected_sockets',
    help: 'Socket.IO connections on this replica',
    registers: [registry],
    collect() {
      this.set(connectedSockets());
    },
  });
  return {
    registry,
    messagesSent: new Counter({
      name: 'chat_messages_sent_total',
      help: 'Messages stored and broadcast by this replica (a resend of a stored clientId does not count)',
      registers: [registry],
    }),
    brokerPublishFailures: new Counter({
      name: 'chat_broker_publish_failures_total',
      help: 'Messages for the other replicas that the broker link refused (people catch up from the store)',
      registers: [registry],
    }),
    requestErrors: new Counter<'event' | 'code'>({
      name: 'chat_request_errors_total',
      help: 'Socket requests answered with an error, by event and error code',
      labelNames: ['event', 'code'],
      registers: [registry],
    }),
    ackDuration: new Histogram<'event' | 'outcome'>({
      name: 'chat_ack_duration_seconds',
      help: 'From a socket request arriving to its acknowledgement, by event and outcome (ok or error)',
      labelNames: ['event', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    httpDuration: new Histogram<'method' | 'route' | 'status'>({
      name: 'chat_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    messageDelivery: new Histogram<'broker'>({
      name: 'chat_message_delivery_seconds',
      help:
        'Chat messages from other replicas: from the message being stored there (its createdAt) to this replica handing it to its sockets, ' +
        'by broker (includes the store write, the acknowledgement and the broker). createdAt is the sending host\'s clock: ' +
        'clock skew between hosts shifts these times, and negative ones (skew) are not counted',
      labelNames: ['broker'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    figuresCrossing: new Histogram<'broker'>({
      name: 'chat_cluster_figures_crossing_seconds',
      help:
        'The broker alone, no store: time for the cluster figures another replica sends every second (a serverSideEmit) ' +
        'to reach this one, by broker. Sent time is the other host\'s clock: includes clock skew, negative times not counted',
      labelNames: ['broker'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Gauges and counters read from this replica's cluster figures at scrape time
 * (src/cluster/ samples them every second anyway), and how many replicas it sees.
 */
export function registerReplicaMetrics(registry: Registry, figures: () => ReplicaFigures, replicasSeen: () => number): void {
  const gauge = (name: string, help: string, read: (f: ReplicaFigures) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read(figures()));
      },
    });
  gauge('chat_connected_people', 'Distinct people with at least one socket on this replica', (f) => f.people);
  gauge('chat_rooms_in_use', 'Chat rooms with at least one socket of this replica in them', (f) => f.rooms);
  gauge('chat_store_up', '1 when the store (MongoDB or memory) answers, 0 when it does not', (f) => Number(f.store.ready));
  gauge('chat_broker_up', '1 when the broker link and the adapter channel are up (always 1 without a broker)', (f) =>
    Number(f.broker.connected),
  );
  new Gauge({
    name: 'chat_cluster_replicas',
    help: 'Replicas this one currently sees in the cluster, itself included',
    registers: [registry],
    collect() {
      this.set(replicasSeen());
    },
  });
  new Gauge<'replica' | 'version' | 'broker' | 'store'>({
    name: 'chat_replica_info',
    help: 'Always 1: the replica name (INSTANCE_NAME), version, broker and store as labels',
    labelNames: ['replica', 'version', 'broker', 'store'],
    registers: [registry],
    collect() {
      const f = figures();
      this.reset();
      this.set({ replica: f.instance, version: f.version, broker: f.broker.kind, store: f.store.kind }, 1);
    },
  });
  // Counters that only ever grow in the adapter: reported as their running totals.
  const seen = { sent: 0, received: 0 };
  new Counter<'broker' | 'direction'>({
    name: 'chat_broker_broadcasts_total',
    help: 'Broadcasts this replica published to the broker (direction="sent") and received from other replicas ("received")',
    labelNames: ['broker', 'direction'],
    registers: [registry],
    collect() {
      const f = figures();
      for (const direction of ['sent', 'received'] as const) {
        const total = f.broadcasts[direction];
        this.inc({ broker: f.broker.kind, direction }, Math.max(total - seen[direction], 0));
        seen[direction] = Math.max(total, seen[direction]);
      }
    },
  });
}
