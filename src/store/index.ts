import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import { createMemoryStore } from './memory';
import { connectMongoStore } from './mongo/store';
import type { Store } from './types';

/** The store the configuration asks for: MongoDB with MONGO_URL (or DB_HOST), else in memory. */
export async function connectStore(config: Config, logger: Logger): Promise<Store> {
  if (!config.mongo) return createMemoryStore();
  return connectMongoStore({ ...config.mongo, sessionTtlMs: config.session.maxAgeMs }, logger);
}
