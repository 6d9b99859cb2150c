import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import session from 'express-session';
import { Server } from 'socket.io';
import type { Broker } from './adapters/broker';
import { ADAPTER_EVENTS } from './adapters/events';
import { createClusterExchange, type ClusterExchange } from './cluster';
import type { Config } from './config';
import { createApp } from './http/app';
import { createClusterRoutes } from './http/cluster';
import { connectionCaps, handshakeGuard } from './http/handshake';
import { createLimiters } from './lib/limiters';
import type { Logger } from './lib/logger';
import { createMetrics, registerReplicaMetrics, type Metrics } from './lib/metrics';
import { describe } from './lib/retry';
import { instrumentSockets, withRequestLogging } from './observability/requests';
import { createRealtime, personChannel, sessionChannel, type ChatIO } from './realtime';
import { createAccountService } from './services/accounts';
import { createChatService } from './services/chat';
import { createPasskeyService } from './services/passkeys';
import type { ServerInfo } from './shared/protocol';
import type { Store } from './store/types';
import { createAvatarStorage } from './uploads/avatars';

/** How often each replica looks for idle accounts to expire (deletes are idempotent across replicas). */
const IDLE_SWEEP_MS = 10 * 60_000;

export interface ChatServerDeps {
  config: Config;
  store: Store;
  broker: Broker;
  logger: Logger;
}

export interface ChatServer {
  http: HttpServer;
  io: ChatIO;
  /** The replicas' figures exchange behind /cluster. */
  cluster: ClusterExchange;
  /** Starts listening; resolves with the port (useful with PORT=0). */
  listen(port?: number, host?: string): Promise<number>;
  /** Starts the metrics listener when METRICS_PORT is set; resolves with its port, or null. */
  listenMetrics(port?: number, host?: string): Promise<number | null>;
  /** Expires unprotected accounts idle since `now` minus IDLE_ACCOUNT_DAYS (runs every 10 minutes by itself). */
  expireIdleAccounts(now?: number): Promise<number>;
  /** Stops accepting, disconnects clients, and closes the HTTP server (not the store or broker). */
  close(): Promise<void>;
}

/** Builds the HTTP app and the Socket.IO server on top of a connected store and broker. */
export async function createChatServer({ config, store, broker, logger }: ChatServerDeps): Promise<ChatServer> {
  const chat = createChatService(store, { editWindowMs: config.editWindowMs });
  const avatars = createAvatarStorage(config.storageVolume, { quotaBytes: config.avatarQuotaBytes });
  await avatars.init();
  await chat.defaultRoom();

  const limiters = await createLimiters({ redisUrl: config.rateLimits.redisUrl, prefix: `${config.brokerPrefix}:limits` }, logger);
  const accounts = createAccountService(store, { toUser: chat.toUser, requireProtection: config.requireNameProtection, limiters });
  const passkeys = createPasskeyService(store, chat.toUser);
  const sessionStore = store.createSessionStore();
  const destroySession = (sessionId: string) =>
    new Promise<void>((resolve, reject) => sessionStore.destroy(sessionId, (error) => (error ? reject(error) : resolve())));
  const sessionMiddleware = session({
    name: config.session.cookieName,
    secret: config.session.secret,
    store: sessionStore,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: config.session.secureCookie, maxAge: config.session.maxAgeMs },
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
    metrics: config.metricsOnPublicPort ? metrics : null,
    readiness: [
      { name: 'store', kind: store.kind, ready: () => store.isReady() },
      { name: 'broker', kind: broker.kind, ready: () => broker.isConnected() && adapterOpen() },
    ],
    accounts,
    passkeys,
    limiters,
    destroySession,
    onSignOut: (sessionIds) => io.in(sessionIds.map(sessionChannel)).disconnectSockets(true),
    disconnectPerson: (userId, keepSessionId) => {
      const sockets = io.in(personChannel(userId));
      (keepSessionId === undefined ? sockets : sockets.except(sessionChannel(keepSessionId))).disconnectSockets(true);
    },
    onUserUpdated: (user) => realtime.userUpdated(user),
    routes: [
      ({ currentUser }) =>
        createClusterRoutes({ cluster: { view: (access) => cluster.view(access) }, serverInfo, currentUser, operatorToken: config.operatorToken }),
    ],
  });
  // The app must be the server's request listener before Socket.IO attaches, so
  // engine.io can keep /socket.io/ requests away from Express.
  // A client that trickles its headers or body ties up a connection: Node drops it (408) after
  // these, checked every second (Node's default check runs every 30 s).
  const http = createServer(
    { headersTimeout: config.http.headersTimeoutMs, requestTimeout: config.http.requestTimeoutMs, connectionsCheckingInterval: 1000 },
    withRequestLogging(app, { logger, metrics }),
  );
  // Past this Node closes new connections at once, instead of the replica running out of
  // descriptors (and failing everything that opens one) under a flood of idle connections.
  http.maxConnections = config.http.maxConnections ?? connectionsForFileLimit(openFileLimit());
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
  // The client's address as Express sees it (TRUST_PROXY applies): its own getter, on the raw request.
  const asExpress = (req: IncomingMessage) => Object.assign(Object.create(req) as object, { app, get: app.request.get });
  const addressOf = (req: IncomingMessage) => String(Reflect.get(app.request, 'ip', asExpress(req)) ?? '');
  const protocolOf = (req: IncomingMessage) => String(Reflect.get(app.request, 'protocol', asExpress(req)));
  const caps = connectionCaps({ perPerson: config.maxSockets.perPerson, perAddress: config.maxSockets.perAddress, limiters, addressOf });
  const io: ChatIO = new Server(http, {
    adapter: broker.adapter,
    // Messages are at most 2000 characters; 64 KB leaves room for JSON and framing, no more.
    maxHttpBufferSize: 64 * 1024,
    serveClient: false,
    cors: undefined,
    allowRequest: handshakeGuard({
      caps,
      policy: { allowedOrigins: config.allowedOrigins },
      protocolOf,
      cookieName: config.session.cookieName,
      sessionMiddleware,
      sessionValid: async ({ userId, epoch }) => {
        const valid = (await accounts.sessionUser(userId, epoch)) !== null;
        if (valid) accounts.touch(userId).catch((error: unknown) => logger.debug({ err: error }, 'could not record activity'));
        return valid;
      },
    }),
  });
  io.engine.on('connection', (socket: Parameters<typeof caps.track>[0]) => caps.track(socket));

  instrumentSockets(io, { logger, metrics });
  const cluster = createClusterExchange({
    io,
    instance: config.instanceName,
    broker,
    brokerConnected: () => broker.isConnected() && adapterOpen(),
    store,
    timeoutMs: config.adapterHeartbeat.timeoutMs,
    metrics,
    logger,
  });
  registerReplicaMetrics(metrics.registry, cluster.local, () => cluster.view('member').replicas.length);

  const realtime = createRealtime(io, {
    chat,
    logger,
    sessionUser: accounts.sessionUser,
    sessionMiddleware,
    serverInfo,
    rateLimits: config.rateLimits,
    limiters,
    metrics,
    clustered: broker.kind !== 'none',
    heartbeat: config.adapterHeartbeat,
  });
  watchBrokerLink(io, { logger, metrics, onRestored: () => realtime.brokerReconnected() });

  const expireIdleAccounts = async (now = Date.now()) => {
    if (config.idleAccountMs === null) return 0;
    const { users, userIds, sessionIds } = await accounts.expireIdle(new Date(now - config.idleAccountMs));
    await Promise.all(sessionIds.map((id) => destroySession(id).catch(() => {})));
    // By person, not by session: only their last sessions are remembered.
    if (userIds.length > 0) io.in(userIds.map(personChannel)).disconnectSockets(true);
    if (users > 0) logger.info({ users }, 'expired idle accounts that never protected their name');
    return users;
  };
  const idleSweep = setInterval(
    () => void expireIdleAccounts().catch((error: unknown) => logger.warn({ err: error }, 'idle account expiry failed')),
    IDLE_SWEEP_MS,
  );
  idleSweep.unref();

  return {
    http,
    io,
    expireIdleAccounts,
    cluster,
    listen: (port = config.port, host = config.host) => listen(http, port, host, logger),
    listenMetrics: async (port = config.metricsPort ?? undefined, host = config.host) =>
      metricsServer && port !== undefined ? listen(metricsServer, port, host, logger) : null,
    close: async () => {
      clearInterval(idleSweep);
      cluster.close();
      await realtime.close();
      // io.close() disconnects local sockets, closes the adapter and the HTTP server.
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      if (metricsServer?.listening) await new Promise((resolve) => metricsServer.close(resolve));
      await limiters.close();
    },
  };
}

/**
 * Counts the publishes the broker refused and logs them once per outage (not once per
 * message); when the link is back, starts the catch-up.
 */
function watchBrokerLink(io: ChatIO, deps: { logger: Logger; metrics: Metrics; onRestored(): void }) {
  const adapter = io.of('/').adapter;
  let failedThisOutage = 0;
  adapter.on(ADAPTER_EVENTS.publishFailed, (error: unknown) => {
    deps.metrics.brokerPublishFailures.inc();
    if (failedThisOutage++ === 0) {
      deps.logger.warn({ err: describe(error) }, 'broker: publishing to the other replicas fails; counting until the link is back');
    }
  });
  adapter.on(ADAPTER_EVENTS.linkRestored, () => {
    deps.logger.info({ failedPublishes: failedThisOutage }, 'broker: link restored');
    failedThisOutage = 0;
    deps.onRestored();
  });
}

/** Descriptors kept for everything but client connections: the store's pool, brokers, files, Node itself. */
const RESERVED_FILES = 256;

/** Connections a limit of `files` open files leaves room for; unknown: the usual soft limit of 1024. */
function connectionsForFileLimit(files: number | null): number {
  const limit = files ?? 1024;
  return Math.max(limit - RESERVED_FILES, Math.floor(limit / 2));
}

/** The soft RLIMIT_NOFILE (Linux); null where it cannot be read or is unlimited. */
function openFileLimit(): number | null {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
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
