import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';
import type { Config } from '../config';

export type Logger = pino.Logger;

/**
 * Fields for every line logged while one HTTP request or socket event is
 * handled (request id, person id...), wherever the logging code is: a
 * function, so fields known only later (the session's user) are read when
 * the line is written.
 */
const logContext = new AsyncLocalStorage<() => Record<string, unknown>>();

/** Runs `work` with `fields` added to every log line it (and what it awaits) writes. */
export function withLogContext<T>(fields: () => Record<string, unknown>, work: () => T): T {
  return logContext.run(fields, work);
}

/**
 * JSON lines, each with the replica's name (`instance`), plus the request's
 * fields inside a request or socket event. In development on a terminal,
 * coloured human-readable lines instead (pino-pretty, a dev dependency: the
 * production image has only JSON).
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'instanceName' | 'env'>): Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { instance: config.instanceName },
    mixin: () => logContext.getStore()?.() ?? {},
  };
  const pretty = config.env === 'development' && process.stdout.isTTY ? prettyStream() : null;
  return pretty ? pino(options, pretty) : pino(options);
}

function prettyStream(): pino.DestinationStream | null {
  try {
    // Synchronous, so nothing is lost when the process exits right after logging.
    const pretty = require('pino-pretty') as (options: object) => pino.DestinationStream;
    return pretty({ sync: true, colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    return null; // not installed (npm ci --omit=dev): JSON it is
  }
}

/** A logger that writes nothing, for tests that build servers in-process. */
export const silentLogger: Logger = pino({ level: 'silent' });
