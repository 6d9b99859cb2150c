import pino from 'pino';
import type { Config } from '../config';

export type Logger = pino.Logger;

export function createLogger(config: Pick<Config, 'logLevel' | 'instanceName'>): Logger {
  return pino({ level: config.logLevel, base: { instance: config.instanceName } });
}

/** A logger that writes nothing, for tests that build servers in-process. */
export const silentLogger: Logger = pino({ level: 'silent' });
