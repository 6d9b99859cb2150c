import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { z } from 'zod';
import type { Ack, ClientToServerEvents } from '../shared/protocol';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import { ChatError, isExpected, toErrorBody } from '../services/errors';
import { firstIssue } from '../services/schemas';
import type { ChatSocket } from './channels';

/** Registers work to run once the ack is written, so the sender never waits behind a broadcast. */
export type AfterAck = (work: () => void) => void;

export type RequestListener = <E extends keyof ClientToServerEvents, S extends z.ZodType | null, R extends object>(
  event: E,
  schema: S,
  run: (payload: S extends z.ZodType ? z.output<S> : undefined, afterAck: AfterAck) => Promise<R>,
) => void;

/**
 * Validate → run → ack for one socket: a bad payload or a failure becomes an error ack
 * with a stable code, never a crash and never an unanswered request.
 */
export function requestListener(socket: ChatSocket, deps: { logger: Logger; metrics: Metrics }): RequestListener {
  return (event, schema, run) => {
    const listener = async (...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack !== 'function') return; // every request event takes an acknowledgement
      const reply = ack as (res: Ack<object>) => void;
      let after: (() => void) | undefined;
      try {
        let payload: unknown;
        if (schema) {
          const parsed = schema.safeParse(args.length > 1 ? args[0] : undefined);
          if (!parsed.success) throw new ChatError('INVALID_PAYLOAD', firstIssue(parsed.error));
          payload = parsed.data;
        }
        const result = await run(payload as never, (work) => (after = work));
        reply({ ok: true, ...result });
      } catch (error) {
        if (!isExpected(error)) deps.logger.error({ err: error, event }, 'socket handler failed');
        const body = toErrorBody(error);
        deps.metrics.requestErrors.inc({ event, code: body.code });
        return reply({ ok: false, error: body });
      }
      try {
        after?.();
      } catch (error) {
        deps.logger.error({ err: error, event }, 'socket handler failed after its ack');
      }
    };
    socket.on(event, listener as never);
  };
}

/** Takes a point from a rate limiter, or refuses with RATE_LIMITED. */
export async function consume(limiter: RateLimiterAbstract, key: string, message: string) {
  try {
    await limiter.consume(key);
  } catch {
    throw new ChatError('RATE_LIMITED', message);
  }
}
