import path from 'node:path';
import express, { type ErrorRequestHandler, type Request, type RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import helmet from 'helmet';
import multer from 'multer';
import type { Config } from '../config';
import { allowed, type Limiters } from '../lib/limiters';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { ChatService } from '../services/chat';
import { ChatError, toErrorBody } from '../services/errors';
import type { AccountService } from '../services/accounts';
import type { PasskeyService } from '../services/passkeys';
import type { ErrorCode, ServerInfo, UserDTO } from '../shared/protocol';
import { LIMITS } from '../shared/protocol';
import type { AvatarStorage } from '../uploads/avatars';
import { createAuth } from './auth';
import { sameOriginOnly } from './origin';

export interface ReadinessCheck {
  name: string;
  kind: string;
  ready(): Promise<boolean> | boolean;
}

export interface AppDeps {
  config: Pick<Config, 'trustProxy' | 'rateLimits' | 'allowedOrigins' | 'publicOrigin' | 'editWindowMs'>;
  chat: ChatService;
  accounts: AccountService;
  passkeys: PasskeyService;
  /** Shared by all replicas when a Redis is configured. */
  limiters: Limiters;
  avatars: AvatarStorage;
  logger: Logger;
  sessionMiddleware: RequestHandler;
  serverInfo: () => ServerInfo;
  readiness: ReadinessCheck[];
  /** Served at GET /metrics, or null when a port of its own serves them (METRICS_PORT). */
  metrics: Metrics | null;
  /** Called after a sign-out, to disconnect those sessions' sockets on every replica. */
  onSignOut: (sessionIds: string[]) => void;
  /** Called after "sign out everywhere" or a first protection: that person's sockets go, but `keepSessionId`'s. */
  disconnectPerson: (userId: string, keepSessionId?: string) => void;
  /** Deletes a session from the (shared) session store. */
  destroySession: (sessionId: string) => Promise<void>;
  /** Called after a profile photo change, to tell everyone online. */
  onUserUpdated: (user: UserDTO) => void;
  /** Routers of other features (the cluster view), mounted after the session middleware; they get `currentUser`. */
  routes?: ((auth: { currentUser(req: Request): Promise<UserDTO | null> }) => RequestHandler)[];
}

const ROOT = path.resolve(__dirname, '..', '..');

const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_PAYLOAD: 400,
  INVALID_NAME: 400,
  INVALID_ROOM_NAME: 400,
  MESSAGE_EMPTY: 400,
  MESSAGE_TOO_LONG: 400,
  FILE_MISSING: 400,
  FILE_EMPTY: 400,
  NOT_IN_ROOM: 403,
  USER_NOT_FOUND: 404,
  INVALID_RECIPIENT: 400,
  MESSAGE_NOT_FOUND: 404,
  NOT_YOUR_MESSAGE: 403,
  MESSAGE_DELETED: 409,
  EDIT_WINDOW_CLOSED: 403,
  EDITING_DISABLED: 403,
  INVALID_REACTION: 400,
  CONFLICT: 409,
  UNAUTHORIZED: 401,
  CROSS_ORIGIN: 403,
  NAME_TAKEN: 409,
  NAME_PROTECTED: 401,
  WRONG_PASSWORD: 401,
  INVALID_PASSWORD: 400,
  PROTECTION_REQUIRED: 403,
  PASSKEY_NOT_FOUND: 404,
  PASSKEY_FAILED: 400,
  ROOM_NOT_FOUND: 404,
  ROOM_NAME_TAKEN: 409,
  TOO_MANY_ROOMS: 409,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_FILE_TYPE: 415,
  IMAGE_TOO_LARGE: 413,
  IMAGE_UNREADABLE: 400,
  STORAGE_FULL: 507,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  TOO_MANY_CONNECTIONS: 429,
  STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

export function createApp(deps: AppDeps): express.Express {
  const { chat, avatars, logger } = deps;
  const app = express();
  app.set('trust proxy', deps.config.trustProxy);
  app.set('views', path.join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  app.disable('x-powered-by');

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'img-src': ["'self'", 'data:', 'blob:'],
          // Plain-HTTP demos (compose on localhost) must not be upgraded to HTTPS.
          'upgrade-insecure-requests': null,
        },
      },
      strictTransportSecurity: false,
    }),
  );

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', instance: deps.serverInfo().instance });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all(
      deps.readiness.map(async (check) => ({
        name: check.name,
        kind: check.kind,
        ready: await Promise.resolve(check.ready()).catch(() => false),
      })),
    );
    const ready = checks.every((c) => c.ready);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not ready',
      instance: deps.serverInfo().instance,
      checks: Object.fromEntries(checks.map((c) => [c.name, { kind: c.kind, ready: c.ready }])),
    });
  });

  const { metrics } = deps;
  if (metrics) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }

  app.use('/static', express.static(path.join(ROOT, 'public'), { maxAge: '1h' }));
  // Avatar names are random and never reused, so they can be cached for good.
  app.use('/avatars', express.static(avatars.directory, { immutable: true, maxAge: '365d', index: false, dotfiles: 'deny' }));

  // Before the session is even read: a cross-site form cannot sign anyone in or out.
  app.use(sameOriginOnly({ allowedOrigins: deps.config.allowedOrigins }));
  app.use(deps.sessionMiddleware);
  app.use(express.urlencoded({ extended: false, limit: '10kb' }));
  app.use(express.json({ limit: '10kb' }));

  /** Refuses with 429 RATE_LIMITED past `points` a minute per key, counted across replicas. */
  const limitPerMinute = (name: string, points: number, key: (req: Request) => string): RequestHandler => {
    const limiter = deps.limiters.create(name, points, 60);
    return async (req, res, next) => {
      if (await allowed(limiter, key(req))) return next();
      res.status(429).json({ error: { code: 'RATE_LIMITED', message: 'Too many requests, try again in a minute' } });
    };
  };
  const clientAddress = (req: Request) => ipKeyGenerator(req.ip ?? ''); // an IPv6 client counts by its /56
  const signInLimiter = limitPerMinute('signin', deps.config.rateLimits.signInsPerMinute, clientAddress);
  // Per person, not per address: many people may share one address behind a NAT.
  const uploadLimiter = limitPerMinute('upload', 10, (req) => req.session.userId ?? clientAddress(req));

  const auth = createAuth({
    accounts: deps.accounts,
    passkeys: deps.passkeys,
    logger,
    serverInfo: deps.serverInfo,
    publicOrigin: deps.config.publicOrigin,
    signInLimiter,
    destroySession: deps.destroySession,
    onSignOut: deps.onSignOut,
    disconnectPerson: deps.disconnectPerson,
    status: (code) => HTTP_STATUS[code],
  });

  // Pages
  app.get('/', async (req, res) => {
    const user = await auth.currentUser(req);
    if (!user) return res.redirect(303, '/login');
    res.render('chat', { user, server: deps.serverInfo(), limits: LIMITS, editWindowMs: deps.config.editWindowMs });
  });

  app.use(auth.router);

  app.post('/api/avatar', uploadLimiter, async (req, res) => {
    const userId = (await auth.requireUser(req)).id;
    await promisify((done) => avatars.parser(req, res, done)).catch((error: unknown) => {
      // busboy's "Unexpected end of form", "Malformed part header"...: the client's fault, not a bug.
      if (error instanceof multer.MulterError) throw error;
      throw new ChatError('INVALID_PAYLOAD', 'The upload is not valid multipart/form-data');
    });
    const file = await avatars.save(req.file);
    try {
      const { user, previous } = await chat.setAvatar(userId, file);
      await avatars.remove(previous).catch((error) => logger.warn({ err: error }, 'could not remove old avatar'));
      deps.onUserUpdated(user);
      res.json({ user });
    } catch (error) {
      await avatars.remove(file); // nothing half-done: no record, no orphan file
      throw error;
    }
  });

  for (const routes of deps.routes ?? []) app.use(routes(auth));

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: { code: 'INVALID_PAYLOAD', message: 'No such API endpoint' } });
  });

  const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
    const body = httpErrorBody(error);
    if (body.code === 'INTERNAL') logger.error({ err: error, url: req.originalUrl }, 'request failed');
    if (res.headersSent) return;
    res.status(HTTP_STATUS[body.code]).json({ error: body });
  };
  app.use(errorHandler);
  return app;
}

function httpErrorBody(error: unknown) {
  if (error instanceof multer.MulterError) {
    if (error.code === 'LIMIT_FILE_SIZE') {
      return { code: 'FILE_TOO_LARGE' as const, message: `The photo must be at most ${LIMITS.avatarMaxBytes / 1024 / 1024} MB` };
    }
    return { code: 'INVALID_PAYLOAD' as const, message: `Upload refused: ${error.message}` };
  }
  const status = (error as { status?: unknown; type?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser errors: malformed JSON, too large...
    return status === 413
      ? { code: 'PAYLOAD_TOO_LARGE' as const, message: 'The request body is too large' }
      : { code: 'INVALID_PAYLOAD' as const, message: 'The request body is not valid JSON or form data' };
  }
  return toErrorBody(error);
}

function promisify(run: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
}
