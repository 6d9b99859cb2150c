import { MongoStore } from 'connect-mongo';
import type { SessionData } from 'express-session';
import type { Connection } from 'mongoose';
import { toStoreError } from './connection';

export type SessionCleanup = 'ttl' | 'interval';

export interface SessionStoreOptions {
  /** 'ttl': the server's TTL index (created at connect); 'interval': connect-mongo deletes expired sessions itself. */
  cleanup: SessionCleanup;
  /** Minutes between interval clean-ups. @default 10 */
  cleanupIntervalMinutes?: number;
  /** Lifetime of a session whose cookie has no expiry. */
  ttlSeconds: number;
}

export const SESSIONS_COLLECTION = 'sessions';

type Callback = (error?: unknown) => void;

/**
 * connect-mongo on the store's own client and database. Outages reach
 * express-session as StoreUnavailableError, which the HTTP app answers with
 * 503 STORE_UNAVAILABLE. Expired sessions are never returned (connect-mongo
 * filters on `expires`) and are deleted by the TTL index or the interval.
 */
export class MongoSessionStore extends MongoStore {
  constructor(connection: Connection, options: SessionStoreOptions) {
    super({
      // mongoose nests its own copy of the driver; the client is the same API.
      client: connection.getClient() as never,
      dbName: connection.name,
      collectionName: SESSIONS_COLLECTION,
      ttl: options.ttlSeconds,
      // The TTL index is created with the other indexes at connect, where a failure is retried.
      autoRemove: options.cleanup === 'interval' ? 'interval' : 'disabled',
      autoRemoveInterval: options.cleanupIntervalMinutes ?? 10,
    });
  }

  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    super.get(sid, (error, session) => callback(error && toStoreError(error), session));
  }

  override set(sid: string, session: SessionData, callback?: Callback): void {
    super.set(sid, session, (error) => callback?.(error && toStoreError(error)));
  }

  override touch(sid: string, session: SessionData, callback?: Callback): void {
    super.touch(sid, session, (error) => callback?.(error && toStoreError(error)));
  }

  override destroy(sid: string, callback?: Callback): void {
    super.destroy(sid, (error) => callback?.(error && toStoreError(error)));
  }
}
