import { createServer, type Server as HttpServer } from 'node:http';
import session from 'express-session';
import { Server } from 'socket.io';
import type { Broker } from './adapters/broker';
import type { Config } from './config';
import { createApp } from './http/app';
import type { Logger } from './lib/logger';
import { createMetrics } from './lib/metrics';
import { createRealtime, sessionChannel, type ChatIO } from './realtime';
import { createChatService } from './services/chat';
import type { ServerInfo } from './shared/protocol';
import type { Store } from './store/types';
import { createAvatarStorage } from './uploads/avatars';

export interface ChatServerDeps {
  config: Config;
  store: Store;
  broker: Broker;
  logger: Logger;
}

export interface ChatServer {
  http: HttpServer;
  io: ChatIO;
  /** Starts listening; resolves with the port (useful with PORT=0). */
  listen(port?: number, host?: string): Promise<number>;
  /** Starts the metrics listener when METRICS_PORT is set; resolves with its port, or null. */
  listenMetrics(port?: number, host?: string): Promise<number | null>;
  /** Stops accepting, disconnects clients, and closes the HTTP server (not the store or broker). */
  close(): Promise<void>;
}

/** Builds the HTTP app and the Socket.IO server on top of a connected store and broker. */
export async function createChatServer({ config, store, broker, logger }: ChatServerDeps): Promise<ChatServer> {
  const chat = createChatService(store);
  const avatars = createAvatarStorage(config.storageVolume);
  await avatars.init();
  await chat.defaultRoom();

  const sessionMiddleware = session({
    name: 'chat.sid',
    secret: config.session.secret,
    store: store.createSessionStore(),
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto', maxAge: config.session.maxAgeMs },
  });

  const serverInfo = (): ServerInfo => ({
    instance: config.instanceName,
    broker: broker.kind === 'none' ? 'none' : `${broker.kind}${broker.isConnected() ? '' : ' (disconnected)'}`,
    store: store.kind,
  });

  const metrics = createMetrics(() => io.engine.clientsCount);
  // The RabbitMQ adapter reopens its channel after the connection is back: ready only then.
  const adapterOpen = () => (io.of('/').adapter as Partial<{ isOpen(): boolean }>).isOpen?.() ?? true;

  const app = createApp({
    config,
    chat,
    avatars,
    logger,
    sessionMiddleware,
    serverInfo,
    metrics: config.metricsPort === null ? metrics : null,
    readiness: [
      { name: 'store', kind: store.kind, ready: () => store.isReady() },
      { name: 'broker', kind: broker.kind, ready: () => broker.isConnected() && adapterOpen() },
    ],
    onSignOut: (sessionId) => io.in(sessionChannel(sessionId)).disconnectSockets(true),
    onUserUpdated: (user) => io.emit('user:updated', user),
  });
  // The app must be the server's request listener before Socket.IO attaches, so
  // engine.io can keep /socket.io/ requests away from Express.
  const http = createServer(app);
  // Prometheus scrapes this port directly; the load balancer only knows the public one.
  const metricsServer =
    config.metricsPort === null
      ? null
      : createServer((req, res) => {
          if (req.url !== '/metrics') return void res.writeHead(404).end();
          metrics.registry.metrics().then(
            (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
            () => res.writeHead(500).end(),
          );
        });
  const io: ChatIO = new Server(http, {
    adapter: broker.adapter,
    // Messages are at most 2000 characters; 64 KB leaves room for JSON and framing, no more.
    maxHttpBufferSize: 64 * 1024,
    serveClient: false,
    cors: undefined,
  });

  const realtime = createRealtime(io, {
    chat,
    logger,
    sessionMiddleware,
    serverInfo,
    presenceRefreshMs: Math.max(1000, config.adapterHeartbeat.timeoutMs),
    rateLimits: config.rateLimits,
    metrics,
    clustered: broker.kind !== 'none',
  });

  return {
    http,
    io,
    listen: (port = config.port, host = config.host) => listen(http, port, host, logger),
    listenMetrics: async (port = config.metricsPort ?? undefined, host = config.host) =>
      metricsServer && port !== undefined ? listen(metricsServer, port, host, logger) : null,
    close: async () => {
      await realtime.close();
      // io.close() disconnects local sockets, closes the adapter and the HTTP server.
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      if (metricsServer?.listening) await new Promise((resolve) => metricsServer.close(resolve));
    },
  };
}

function listen(server: HttpServer, port: number, host: string, logger: Logger): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // Accept failures (EMFILE under load) must not crash the replica with all its connections.
      server.on('error', (error) => logger.error({ err: error }, 'HTTP server error'));
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}
