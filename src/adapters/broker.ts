import { RedisAdapter } from '@socket.io/redis-adapter';
import amqp from 'amqplib';
import { connect as connectNats, Events as NatsEvents } from 'nats';
import { createClient } from 'redis';
import type { ServerOptions } from 'socket.io';
import { createAdapter as createAmqpAdapter } from './amqp';
import { createAdapter as createNatsAdapter } from './nats';
import type { Namespace } from './transport';
import type { BrokerKind, Config } from '../config';
import type { Logger } from '../lib/logger';
import { redact } from '../lib/redact';
import { describe, withRetry } from '../lib/retry';

/**
 * A connected message broker and the Socket.IO adapter that uses it. The
 * composition root (src/main.ts) gets one from `connectBroker` and hands the
 * adapter to `new Server(...)`; /readyz and the page badge read `status()`.
 */
export interface Broker {
  readonly kind: BrokerKind;
  /** Where it connects, without credentials, for logs and the page badge. */
  readonly target: string;
  /** The adapter for Socket.IO, or undefined for the in-process default. */
  readonly adapter: ServerOptions['adapter'] | undefined;
  isConnected(): boolean;
  close(): Promise<void>;
}

export async function connectBroker(config: Config, logger: Logger): Promise<Broker> {
  const { broker } = config;
  switch (broker.kind) {
    case 'none':
      return { kind: 'none', target: 'in-process', adapter: undefined, isConnected: () => true, close: async () => {} };
    case 'redis':
      return connectRedis(broker.url, config, logger);
    case 'rabbitmq':
      return connectRabbit(broker.url, config, logger);
    case 'nats':
      return connectNatsBroker(broker.servers, config, logger);
  }
}

async function connectRedis(url: string, config: Config, logger: Logger): Promise<Broker> {
  const log = logger.child({ broker: 'redis' });
  const connectOnce = async () => {
    let booted = false;
    const client = createClient({
      url,
      socket: {
        connectTimeout: 5000,
        // At boot withRetry owns the retries; afterwards node-redis reconnects forever.
        reconnectStrategy: (retries) => (booted ? Math.min(100 * 2 ** retries, 5000) : false),
      },
    });
    client.on('error', (error: unknown) => {
      if (booted) log.warn({ err: describe(error) }, 'redis connection error');
    });
    await client.connect();
    booted = true;
    return client;
  };
  const target = redact(url);
  const pub = await withRetry(`redis at ${target}`, config.brokerConnect, connectOnce, log);
  const sub = await withRetry(`redis at ${target}`, config.brokerConnect, connectOnce, log).catch(async (error) => {
    await pub.quit().catch(() => {});
    throw error;
  });
  for (const [name, client] of [['publisher', pub], ['subscriber', sub]] as const) {
    client.on('ready', () => log.info(`redis ${name} connected`));
    client.on('reconnecting', () => log.warn(`redis ${name} lost, reconnecting`));
  }
  return {
    kind: 'redis',
    target,
    adapter: function (nsp: Namespace) {
      return new ResilientRedisAdapter(nsp, pub, sub, { key: config.brokerPrefix });
    },
    isConnected: () => pub.isReady && sub.isReady,
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}

/**
 * The official adapter counts servers with PUBSUB NUMSUB, which node-redis
 * queues while disconnected: fetchSockets() and serverSideEmit() acks would
 * hang until the broker is back. Cut off from the others, this server is alone.
 */
class ResilientRedisAdapter extends RedisAdapter {
  constructor(nsp: Namespace, private readonly pub: { isReady: boolean }, sub: unknown, opts: { key: string }) {
    super(nsp, pub, sub, opts);
  }

  override serverCount(): Promise<number> {
    return this.pub.isReady ? super.serverCount() : Promise.resolve(1);
  }
}

/** AMQP heartbeats (seconds) notice a half-open connection; a URL's own `heartbeat` wins. */
function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', '5');
  return parsed.toString();
}
/** Longest pause between reconnection attempts once booted. */
const RECONNECT_MAX_DELAY_MS = 5000;

async function connectRabbit(url: string, config: Config, logger: Logger): Promise<Broker> {
  const log = logger.child({ broker: 'rabbitmq' });
  const target = redact(url);
  const connection = await withRetry(
    `rabbitmq at ${target}`,
    config.brokerConnect,
    // amqplib's recovery reconnects forever once booted; at boot withRetry owns the retries.
    () =>
      amqp.connect(withHeartbeat(url), {
        recovery: { initialMaxRetries: 0, initialDelay: 200, maxDelay: RECONNECT_MAX_DELAY_MS },
      }),
    log,
  );
  let connected = true;
  connection.on('disconnect', (error: Error) => {
    connected = false;
    log.warn(`rabbitmq connection lost (${describe(error)}), reconnecting`);
  });
  connection.on('connect', () => {
    connected = true;
    log.info('rabbitmq reconnected');
  });
  connection.on('connect-failed', (error: Error) => log.warn(`rabbitmq still unreachable: ${describe(error)}`));
  connection.on('error', (error: Error) => log.warn(`rabbitmq connection error: ${describe(error)}`));
  return {
    kind: 'rabbitmq',
    target,
    adapter: createAmqpAdapter(connection, {
      prefix: config.brokerPrefix,
      heartbeatInterval: config.adapterHeartbeat.intervalMs,
      heartbeatTimeout: config.adapterHeartbeat.timeoutMs,
    }),
    isConnected: () => connected,
    // io.close() already sent each adapter's goodbye and closed its channel.
    close: () => connection.close(),
  };
}

async function connectNatsBroker(servers: string[], config: Config, logger: Logger): Promise<Broker> {
  const log = logger.child({ broker: 'nats' });
  const target = servers.map(redact).join(',');
  const nc = await withRetry(
    `nats at ${target}`,
    config.brokerConnect,
    () =>
      connectNats({
        servers,
        name: config.instanceName,
        // At boot withRetry owns the retries; afterwards nats.js reconnects forever and keeps subscriptions.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        reconnectJitter: 100,
        pingInterval: 10_000,
      }),
    log,
  );
  let connected = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === NatsEvents.Disconnect) {
        connected = false;
        log.warn(`nats connection to ${String(status.data)} lost, reconnecting`);
      } else if (status.type === NatsEvents.Reconnect) {
        connected = true;
        log.info(`nats reconnected to ${String(status.data)}`);
      } else if (status.type === NatsEvents.Error) {
        log.warn(`nats error: ${String(status.data)}`);
      }
    }
  })();
  return {
    kind: 'nats',
    target,
    adapter: createNatsAdapter(nc, {
      prefix: config.brokerPrefix,
      heartbeatInterval: config.adapterHeartbeat.intervalMs,
      heartbeatTimeout: config.adapterHeartbeat.timeoutMs,
    }),
    isConnected: () => connected && !nc.isClosed(),
    // io.close() already flushed each adapter's goodbye.
    close: () => nc.close(),
  };
}
