import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { ServerOptions } from 'socket.io';
import type { BrokerKind, Config } from '../config';
import type { Logger } from '../lib/logger';
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
    case 'nats':
      throw new Error(`${broker.kind} is not wired yet`);
  }
}

/** Hides the password of a URL before it reaches a log or a page. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
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
  const policy = config.brokerConnect;
  const onFailure = (info: { attempt: number; of: number; delayMs: number; error: unknown }) =>
    log.warn(`redis at ${redact(url)} unreachable (attempt ${info.attempt}/${info.of}): ${describe(info.error)}; retrying in ${info.delayMs} ms`);
  const pub = await withRetry(`redis at ${redact(url)}`, policy, connectOnce, onFailure);
  const sub = await withRetry(`redis at ${redact(url)}`, policy, connectOnce, onFailure).catch(async (error) => {
    await pub.quit().catch(() => {});
    throw error;
  });
  for (const [name, client] of [['publisher', pub], ['subscriber', sub]] as const) {
    client.on('ready', () => log.info(`redis ${name} connected`));
    client.on('reconnecting', () => log.warn(`redis ${name} lost, reconnecting`));
  }
  return {
    kind: 'redis',
    target: redact(url),
    adapter: createRedisAdapter(pub, sub, { key: config.brokerPrefix }),
    isConnected: () => pub.isReady && sub.isReady,
    close: async () => {
      await Promise.allSettled([pub.quit(), sub.quit()]);
    },
  };
}
