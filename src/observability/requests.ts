import { randomBytes } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { withLogContext, type Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import type { ChatIO } from '../realtime';

interface Deps {
  logger: Logger;
  metrics: Metrics;
}

/** A caller's X-Request-Id is kept when it looks like one (a proxy's), else a new one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** Probes, scrapes and files: logged at debug, or they would drown everything else. */
const QUIET = /^\/(healthz|readyz|metrics|static\/|avatars\/|favicon)/;

const newRequestId = () => randomBytes(8).toString('hex');

type SessionRequest = IncomingMessage & {
  session?: { userId?: string };
  route?: { path?: unknown };
  baseUrl?: string;
};

/**
 * Wraps the HTTP request listener: every request gets a request id (answered
 * in X-Request-Id), every line logged while it is handled carries it and the
 * signed-in person's id, one line per request says how it ended, and the
 * duration goes into chat_http_request_duration_seconds.
 */
export function withRequestLogging(listener: RequestListener, { logger, metrics }: Deps): RequestListener {
  const log = logger.child({ component: 'http' });
  return (req: SessionRequest, res: ServerResponse) => {
    const header = req.headers['x-request-id'];
    const reqId = typeof header === 'string' && REQUEST_ID.test(header) ? header : newRequestId();
    res.setHeader('X-Request-Id', reqId);
    const started = process.hrtime.bigint();
    // The session middleware sets the user later; the fields are read when each line is written.
    const fields = () => ({ reqId, userId: req.session?.userId });
    const path = (req.url ?? '/').split('?')[0]!; // query strings are not logged
    withLogContext(fields, () => {
      // Bound here, so the closing line has the request's fields like every other.
      res.once(
        'finish',
        AsyncLocalStorage.bind(() => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          metrics.httpDuration.observe({ method: req.method ?? 'GET', route: routeOf(req, path), status: String(res.statusCode) }, seconds);
          const line = { method: req.method, path, status: res.statusCode, durationMs: Math.round(seconds * 10_000) / 10 };
          if (QUIET.test(path)) log.debug(line, 'request');
          else log.info(line, 'request');
        }),
      );
      listener(req, res);
    });
  };
}

/** The route pattern (never the raw path: ids would make a label per message), or the static prefix. */
function routeOf(req: SessionRequest, path: string): string {
  const pattern = req.route?.path;
  if (typeof pattern === 'string') return `${req.baseUrl ?? ''}${pattern}`;
  const prefix = /^\/(static|avatars)\//.exec(path);
  return prefix ? `/${prefix[1]}/*` : 'unmatched';
}

/**
 * Every socket event is handled with a request id, the person's id and the
 * socket id on its log lines; acknowledged events are timed into
 * chat_ack_duration_seconds and logged at debug with their outcome.
 * Register before the chat's handlers.
 */
export function instrumentSockets(io: ChatIO, { logger, metrics }: Deps): void {
  const log = logger.child({ component: 'socket' });
  io.on('connection', (socket) => {
    socket.use((packet, next) => {
      const event = String(packet[0]);
      const reqId = newRequestId();
      const fields = () => ({ reqId, userId: socket.data.user?.id, socketId: socket.id, event });
      const ack = packet.at(-1);
      // Only events the chat handles: a client must not make up metric labels.
      if (typeof ack === 'function' && socket.listeners(event as never).length > 0) {
        const started = process.hrtime.bigint();
        packet[packet.length - 1] = (response: unknown) => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const outcome = (response as { ok?: unknown } | null)?.ok === false ? 'error' : 'ok';
          metrics.ackDuration.observe({ event, outcome }, seconds);
          withLogContext(fields, () => log.debug({ outcome, durationMs: Math.round(seconds * 10_000) / 10 }, 'socket event'));
          (ack as (response: unknown) => void)(response);
        };
      }
      withLogContext(fields, next);
    });
  });
}
