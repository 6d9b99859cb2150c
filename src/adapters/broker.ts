import { RedisAdapter } from '@socket.io/redis-adapter';
import amqp from 'amqplib';
import { connect as connectNats, Events as NatsEvents } from 'nats';
import { decode } from 'notepack.io';
import { createClient } from 'redis';
import type { ServerOptions } from 'socket.io';
import { createAdapter as createAmqpAdapter } from './amqp';
import { ADAPTER_EVENTS } from './events';
import { createAdapter as createNatsAdapter } from './nats';
import type { Namespace } from './transport';
import type { BrokerTraffic } from '../cluster/traffic';
import type { BrokerKind, Config } from '../config';
import type { Logger } from '../lib/logger';
import { redact } from '../lib/redact';
import { describe, withRetry } from '../lib/retry';

/**
 * A connected message broker and the Socket.IO adapter that uses it. The
 * composition root (src/main.ts) gets one from `connectBroker` and hands the
 * adapter to `new Server(...)`; /readyz and the page badge read `status()`.
 */
/**
 * Longest pause between reconnection attempts once booted: people on a cut-off replica who
 * only read heal through the resync sent when the link is back, so the link must come back soon.
 */
const RECONNECT_MAX_DELAY_MS = 2000;

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
  const connectOnce = (role: 'publisher' | 'subscriber') => async () => {
    let booted = false;
    const client = createClient({
      url,
      // A publish while Redis is away fails at once (and is counted) instead of piling up in memory:
      // people catch up from the store once the link is back.
      disableOfflineQueue: role === 'publisher',
      socket: {
        connectTimeout: 5000,
        // At boot withRetry owns the retries; afterwards node-redis reconnects forever.
        reconnectStrategy: (retries) => (booted ? Math.min(100 * 2 ** retries, RECONNECT_MAX_DELAY_MS) : false),
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
  const pub = await withRetry(`redis at ${target}`, config.brokerConnect, connectOnce('publisher'), log);
  const sub = await withRetry(`redis at ${target}`, config.brokerConnect, connectOnce('subscriber'), log).catch(async (error) => {
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
      return new ResilientRedisAdapter(nsp, pub, sub, { key: config.brokerPrefix, requestsTimeout: config.adapterRequestsTimeoutMs });
    },
    isConnected: () => pub.isReady && sub.isReady,
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}

/** What the adapter wrapper needs of a node-redis client. */
interface RedisLink {
  readonly isReady: boolean;
  publish(channel: string, message: string | Buffer): Promise<unknown>;
  on(event: 'ready' | 'reconnecting', listener: () => void): this;
}

/**
 * The official adapter with outages handled:
 * - it publishes without catching, so every publish during an outage was an unhandled
 *   rejection: here each failure is reported as `publish-failed` instead;
 * - it counts servers with PUBSUB NUMSUB, which would wait for the broker: cut off
 *   from the others, this server is alone;
 * - once both connections are back (the subscriber resubscribed), it says `link-restored`.
 */
class ResilientRedisAdapter extends RedisAdapter {
  private readonly link: { pub: RedisLink; sub: RedisLink };
  /** Broadcasts published and received from other servers (the cluster view and metrics read them). */
  readonly brokerTraffic: BrokerTraffic = { broadcastsSent: 0, broadcastsReceived: 0 };

  constructor(nsp: Namespace, pub: RedisLink, sub: RedisLink, opts: { key: string; requestsTimeout: number }) {
    let report: (error: unknown) => void = () => {};
    // node-redis methods use private fields: call them on the client itself.
    const guardedPub = new Proxy(pub, {
      get(target, property) {
        if (property === 'publish') {
          return (channel: string, message: string | Buffer) => target.publish(channel, message).catch((error: unknown) => report(error));
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    super(nsp, guardedPub, sub, opts);
    report = (error) => this.emit(ADAPTER_EVENTS.publishFailed, error);
    this.link = { pub, sub };
    let lost = false;
    const onLost = () => (lost = true);
    const onReady = () => {
      if (!lost || !pub.isReady || !sub.isReady) return;
      lost = false;
      this.emit(ADAPTER_EVENTS.linkRestored);
    };
    for (const client of [pub, sub]) client.on('reconnecting', onLost).on('ready', onReady);
    // The official adapter's subscription calls this.onmessage (private) for every broadcast,
    // its own included; the sender's uid leads the MessagePack array, so its bytes tell.
    const self = this as unknown as { onmessage(pattern: unknown, channel: unknown, msg: Buffer): void; uid: string };
    const onmessage = self.onmessage.bind(this);
    const ownUid = Buffer.from(self.uid);
    self.onmessage = (pattern, channel, msg) => {
      onmessage(pattern, channel, msg);
      if (msg.subarray(0, ownUid.length + 8).includes(ownUid)) return;
      this.brokerTraffic.broadcastsReceived++;
      const observe = this.brokerTraffic.onBroadcastReceived;
      // The official adapter decodes privately: a second decode, paid only when someone observes.
      if (observe) observe((decode(msg) as [uid: string, packet: unknown])[1]);
    };
  }

  override broadcast(...args: Parameters<RedisAdapter['broadcast']>): void {
    if (!args[1].flags?.local) this.brokerTraffic.broadcastsSent++;
    super.broadcast(...args);
  }

  override serverCount(): Promise<number> {
    return this.link.pub.isReady ? super.serverCount() : Promise.resolve(1);
  }
}

/** AMQP heartbeats (seconds) notice a half-open connection; a URL's own `heartbeat` wins. */
function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', '5');
  return parsed.toString();
}
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
      requestsTimeout: config.adapterRequestsTimeoutMs,
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
      requestsTimeout: config.adapterRequestsTimeoutMs,
    }),
    isConnected: () => connected && !nc.isClosed(),
    // io.close() already flushed each adapter's goodbye.
    close: () => nc.close(),
  };
}
