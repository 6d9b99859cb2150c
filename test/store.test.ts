import { silentLogger } from '../src/lib/logger';
import { createMemoryStore } from '../src/store/memory';
import { connectMongoStore } from '../src/store/mongo/store';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { runStoreContract } from './store.contract';

let ferret: FerretDB;
beforeAll(async () => {
  ferret = await startFerretDB();
});
afterAll(() => ferret.destroy());

runStoreContract('memory', async () => createMemoryStore());

runStoreContract('mongodb (FerretDB)', () =>
  connectMongoStore(
    { url: ferret.url(), sessionCleanup: 'auto', sessionTtlMs: 3_600_000, connect: { attempts: 1, initialDelayMs: 10 } },
    silentLogger,
  ),
);
