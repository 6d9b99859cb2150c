import mongoose, { type Connection } from 'mongoose';
import type { RetryPolicy } from '../../config';
import type { Logger } from '../../lib/logger';
import { redact } from '../../lib/redact';
import { describe, withRetry } from '../../lib/retry';
import { StoreUnavailableError } from '../types';

/** Whether the server can expire documents itself: FerretDB 1.x has no TTL indexes. */
export type ServerKind = 'mongodb' | 'ferretdb';

export interface MongoConnectOptions {
  url: string;
  connect: RetryPolicy;
  /** How long an operation waits for a reachable server before failing with STORE_UNAVAILABLE. @default 3000 */
  serverSelectionTimeoutMS?: number;
}

/**
 * Opens a dedicated mongoose connection (never the global one), retrying
 * with exponential back-off and logging each failed attempt. Commands are
 * not buffered: during an outage they fail after the server-selection
 * timeout instead of queueing up in memory.
 */
export async function openConnection(options: MongoConnectOptions, logger: Logger): Promise<Connection> {
  const target = redact(options.url);
  logger.info({ target }, `store: connecting to MongoDB at ${target}`);
  const connection = await withRetry(
    `MongoDB at ${target}`,
    options.connect,
    async () => {
      const attempt = mongoose.createConnection(options.url, {
        bufferCommands: false,
        autoIndex: false,
        autoCreate: false,
        serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 3000,
        connectTimeoutMS: options.serverSelectionTimeoutMS ?? 3000,
        // Notices an outage (and the return) within 2 s rather than the driver's 10 s.
        heartbeatFrequencyMS: 2000,
      });
      // An 'error' event without a listener would crash the process.
      attempt.on('error', () => {});
      try {
        return await attempt.asPromise();
      } catch (error) {
        await attempt.close(true).catch(() => {});
        throw error;
      }
    },
    logger,
  );
  connection.removeAllListeners('error');
  connection.on('error', (error) => logger.warn({ err: describe(error) }, 'store: MongoDB connection error'));
  connection.on('disconnected', () =>
    logger.warn('store: lost MongoDB; requests answer STORE_UNAVAILABLE until it is back'),
  );
  connection.on('reconnected', () => logger.info('store: MongoDB is back'));
  return connection;
}

export async function serverKind(connection: Connection): Promise<ServerKind> {
  const info = await connection.db!.admin().command({ buildInfo: 1 });
  return typeof info.ferretdbVersion === 'string' ? 'ferretdb' : 'mongodb';
}

/** Errors meaning "the server cannot be reached now", as opposed to a refused operation. */
export function isUnavailable(error: unknown): boolean {
  const { mongo } = mongoose;
  return (
    error instanceof mongo.MongoNetworkError ||
    error instanceof mongo.MongoServerSelectionError ||
    error instanceof mongo.MongoNotConnectedError ||
    error instanceof mongo.MongoTopologyClosedError ||
    error instanceof mongo.MongoOperationTimeoutError ||
    error instanceof mongoose.Error.MongooseServerSelectionError
  );
}

/** Runs a store operation, turning outages into StoreUnavailableError. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw toStoreError(error);
  }
}

/** StoreUnavailableError for outages, anything else unchanged. */
export function toStoreError(error: unknown): unknown {
  return isUnavailable(error) ? new StoreUnavailableError(error) : error;
}

export function isDuplicateKey(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 11000;
}

/** Inserts, or returns the existing document when a unique index says it exists already. */
export async function insertOrFind<T>(insert: () => Promise<T>, find: () => Promise<T | null>): Promise<T> {
  try {
    return await insert();
  } catch (error) {
    if (!isDuplicateKey(error)) throw error;
    const existing = await find();
    if (!existing) throw error;
    return existing;
  }
}
