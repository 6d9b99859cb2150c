import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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
      help: 'Messages acknowledged as sent by this replica (a resend with the same clientId counts again)',
      registers: [registry],
    }),
    requestErrors: new Counter<'event' | 'code'>({
      name: 'chat_request_errors_total',
      help: 'Socket requests answered with an error, by event and error code',
      labelNames: ['event', 'code'],
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
