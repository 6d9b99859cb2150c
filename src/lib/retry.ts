import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from '../config';
import type { Logger } from './logger';

const MAX_DELAY_MS = 30_000;

/**
 * Calls `attempt` until it succeeds, waiting with exponential back-off
 * between failures and logging each one; after `policy.attempts` failures
 * throws "Could not connect to <what> after N attempts: <last error>".
 */
export async function withRetry<T>(
  what: string,
  policy: RetryPolicy,
  attempt: () => Promise<T>,
  logger: Logger,
  signal?: AbortSignal,
): Promise<T> {
  let delayMs = policy.initialDelayMs;
  for (let n = 1; ; n += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= policy.attempts || signal?.aborted) {
        throw new Error(`Could not connect to ${what} after ${n} attempt${n === 1 ? '' : 's'}: ${describe(error)}`, {
          cause: error,
        });
      }
      logger.warn(
        { attempt: n, of: policy.attempts, delayMs, err: describe(error) },
        `${what} unreachable (attempt ${n}/${policy.attempts}): ${describe(error)}; retrying in ${delayMs} ms`,
      );
      await sleep(delayMs, undefined, { signal });
      delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
    }
  }
}

export function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describe(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
