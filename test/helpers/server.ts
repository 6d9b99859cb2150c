import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectBroker, type Broker } from '../../src/adapters/broker';
import { loadConfig, type Env } from '../../src/config';
import { silentLogger } from '../../src/lib/logger';
import { createChatServer, type ChatServer } from '../../src/server';
import { createMemoryStore } from '../../src/store/memory';
import type { Store } from '../../src/store/types';
import { connect, signIn, type ChatClient } from './client';

export interface TestServer {
  url: string;
  port: number;
  /** With METRICS_PORT set (any value: tests get a free port), where /metrics is served. */
  metricsUrl: string | null;
  server: ChatServer;
  store: Store;
  broker: Broker;
  storageVolume: string;
  close(): Promise<void>;
}

/**
 * Starts the real app in this process on a free port. Pass `store` to share
 * one between servers, `env` for configuration (brokers, limits...).
 */
export async function startServer(options: { env?: Env; store?: Store; storageVolume?: string } = {}): Promise<TestServer> {
  const ownVolume = !options.storageVolume;
  const storageVolume = options.storageVolume ?? (await mkdtemp(path.join(tmpdir(), 'chat-uploads-')));
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    STORAGE_VOLUME: storageVolume,
    // Every test signs in from 127.0.0.1; test/http.test.ts checks the limit itself.
    SIGNIN_RATE_LIMIT: '10000',
    ...options.env,
  });
  const store = options.store ?? createMemoryStore();
  const broker = await connectBroker(config, silentLogger);
  const server = await createChatServer({ config, store, broker, logger: silentLogger });
  const port = await server.listen(0, '127.0.0.1');
  const metricsPort = await server.listenMetrics(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    metricsUrl: metricsPort === null ? null : `http://127.0.0.1:${metricsPort}/metrics`,
    server,
    store,
    broker,
    storageVolume,
    async close() {
      await server.close();
      await broker.close();
      if (!options.store) await store.close();
      if (ownVolume) await rm(storageVolume, { recursive: true, force: true });
    },
  };
}

/** One memory store for several in-process replicas, sessions included (each would make its own). */
export function sharedMemoryStore(): Store {
  const store = createMemoryStore();
  const sessions = store.createSessionStore();
  return { ...store, createSessionStore: () => sessions };
}

/** A server and one connected socket per name, each signed in over HTTP; close() ends all. */
export async function startServerWithPeople<N extends string>(names: readonly N[], options: Parameters<typeof startServer>[0] = {}) {
  const app = await startServer(options);
  const people = {} as Record<N, ChatClient>;
  for (const name of names) people[name] = await connect(app.url, (await signIn(app.url, name)).cookie);
  return {
    app,
    people,
    async close() {
      for (const socket of Object.values<ChatClient>(people)) socket.close();
      await app.close();
    },
  };
}
