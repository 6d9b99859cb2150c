import path from 'node:path';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import multer from 'multer';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { ChatService } from '../services/chat';
import { ChatError, isExpected, toErrorBody } from '../services/errors';
import { firstIssue, signInForm } from '../services/schemas';
import type { ErrorCode, ServerInfo, UserDTO } from '../shared/protocol';
import { LIMITS } from '../shared/protocol';
import type { AvatarStorage } from '../uploads/avatars';

export interface ReadinessCheck {
  name: string;
  kind: string;
  ready(): Promise<boolean> | boolean;
}

export interface AppDeps {
  config: Pick<Config, 'trustProxy' | 'rateLimits'>;
  chat: ChatService;
  avatars: AvatarStorage;
  logger: Logger;
  sessionMiddleware: RequestHandler;
  serverInfo: () => ServerInfo;
  readiness: ReadinessCheck[];
  /** Served at GET /metrics, or null when a port of its own serves them (METRICS_PORT). */
  metrics: Metrics | null;
  /** Called after a sign-out, to disconnect that session's sockets on every replica. */
  onSignOut: (sessionId: string) => void;
  /** Called after a profile photo change, to tell everyone online. */
  onUserUpdated: (user: UserDTO) => void;
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
  UNAUTHORIZED: 401,
  ROOM_NOT_FOUND: 404,
  ROOM_NAME_TAKEN: 409,
  FILE_TOO_LARGE: 413,
  UNSUPPORTED_FILE_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
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

  app.use(deps.sessionMiddleware);
  app.use(express.urlencoded({ extended: false, limit: '10kb' }));
  app.use(express.json({ limit: '10kb' }));

  const limits = { windowMs: 60_000, standardHeaders: 'draft-8', legacyHeaders: false, handler: tooMany } as const;
  const signInLimiter = rateLimit({ ...limits, limit: deps.config.rateLimits.signInsPerMinute });
  // Per person, not per address: many people may share one address behind a NAT.
  const uploadLimiter = rateLimit({
    ...limits,
    limit: 10,
    keyGenerator: (req) => req.session.userId ?? ipKeyGenerator(req.ip ?? ''),
  });

  const currentUser = async (req: Request): Promise<UserDTO | null> => {
    const userId = req.session.userId;
    return userId ? chat.findUser(userId) : null;
  };

  const signIn = async (req: Request): Promise<UserDTO> => {
    const form = signInForm.safeParse(req.body ?? {});
    if (!form.success) throw new ChatError('INVALID_PAYLOAD', firstIssue(form.error));
    const user = await chat.signIn(form.data.name);
    // A new session id on every sign-in (no fixation); the sockets of the one it replaces go.
    const replaced = req.session.userId ? req.sessionID : null;
    await promisify((done) => req.session.regenerate(done));
    req.session.userId = user.id;
    await promisify((done) => req.session.save(done));
    if (replaced) deps.onSignOut(replaced);
    return user;
  };

  const signOut = async (req: Request) => {
    const sessionId = req.sessionID;
    await promisify((done) => req.session.destroy(done));
    deps.onSignOut(sessionId);
  };

  // Pages
  app.get('/', async (req, res) => {
    const user = await currentUser(req);
    if (!user) return res.redirect(303, '/login');
    res.render('chat', { user, server: deps.serverInfo(), limits: LIMITS });
  });

  app.get('/login', async (req, res) => {
    if (await currentUser(req)) return res.redirect(303, '/');
    res.render('login', { error: null, name: '', server: deps.serverInfo(), limits: LIMITS });
  });

  app.post('/login', signInLimiter, async (req, res) => {
    try {
      await signIn(req);
      res.redirect(303, '/');
    } catch (error) {
      const body = toErrorBody(error);
      if (!isExpected(error)) logger.error({ err: error }, 'sign-in failed');
      const name = typeof req.body?.name === 'string' ? req.body.name.slice(0, 100) : '';
      res.status(HTTP_STATUS[body.code]).render('login', { error: body.message, name, server: deps.serverInfo(), limits: LIMITS });
    }
  });

  app.post('/logout', async (req, res) => {
    await signOut(req);
    res.redirect(303, '/login');
  });

  // JSON API (the same actions, for scripts and tests)
  app.get('/api/session', async (req, res) => {
    const user = await currentUser(req);
    if (!user) throw new ChatError('UNAUTHORIZED', 'Not signed in');
    res.json({ user, server: deps.serverInfo() });
  });

  app.post('/api/session', signInLimiter, async (req, res) => {
    const user = await signIn(req);
    res.status(201).json({ user, server: deps.serverInfo() });
  });

  app.delete('/api/session', async (req, res) => {
    await signOut(req);
    res.status(204).end();
  });

  app.post('/api/avatar', uploadLimiter, async (req, res) => {
    const userId = req.session.userId;
    if (!userId) throw new ChatError('UNAUTHORIZED', 'Sign in first');
    await promisify((done) => avatars.parser(req, res, done));
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

function tooMany(_req: Request, res: Response) {
  res.status(429).json({ error: { code: 'RATE_LIMITED', message: 'Too many requests, try again in a minute' } });
}

function promisify(run: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
}
