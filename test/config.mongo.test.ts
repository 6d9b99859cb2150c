import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig, type Env } from '../src/config';
import { configProblems } from './helpers/config';
import { startAppProcess } from './helpers/app-process';

/** MONGO_URL, or the original demo's MONGO_USERNAME/MONGO_PASSWORD/MONGO_DATABASE/DB_HOST/DB_PORT. */

const mongo = (env: Env) => loadConfig({ NODE_ENV: 'test', ...env }).mongo;
const problems = (env: Env) => configProblems(env).join('\n');

test('MONGO_URL turns MongoDB on, with the documented defaults', () => {
  expect(mongo({ MONGO_URL: 'mongodb://db:27017/chat' })).toEqual({
    url: 'mongodb://db:27017/chat',
    sessionCleanup: 'auto',
    connect: { attempts: 10, initialDelayMs: 500 },
  });
  expect(
    mongo({ MONGO_URL: 'mongodb+srv://cluster.example/chat', MONGO_SESSION_CLEANUP: 'interval', MONGO_CONNECT_RETRIES: '3', MONGO_CONNECT_DELAY_MS: '100' }),
  ).toEqual({ url: 'mongodb+srv://cluster.example/chat', sessionCleanup: 'interval', connect: { attempts: 3, initialDelayMs: 100 } });
});

test("the original demo's variables build the URL, with credentials URL-encoded", () => {
  const config = mongo({
    MONGO_USERNAME: 'app user',
    MONGO_PASSWORD: 'p@ss:w/rd%?#',
    MONGO_DATABASE: 'chatdb',
    DB_HOST: 'mongo',
    DB_PORT: '27018',
  });
  expect(config?.url).toBe('mongodb://app%20user:p%40ss%3Aw%2Frd%25%3F%23@mongo:27018/chatdb');
  const parsed = new URL(config!.url);
  expect(decodeURIComponent(parsed.password)).toBe('p@ss:w/rd%?#');
  expect(parsed.host).toBe('mongo:27018');
});

test('DB_HOST alone: port 27017 (or the one in DB_HOST), database "chat", no credentials', () => {
  expect(mongo({ DB_HOST: 'mongo' })?.url).toBe('mongodb://mongo:27017/chat');
  expect(mongo({ DB_HOST: 'mongo:27999', DB_PORT: '1' })?.url).toBe('mongodb://mongo:27999/chat');
});

test('both styles naming the same database are fine; different targets are a boot error', () => {
  const legacy = { MONGO_USERNAME: 'app', MONGO_PASSWORD: 'pw', DB_HOST: 'mongo', MONGO_DATABASE: 'chat' };
  expect(mongo({ ...legacy, MONGO_URL: 'mongodb://app:pw@mongo:27017/chat' })?.url).toBe('mongodb://app:pw@mongo:27017/chat');
  for (const other of ['mongodb://app:pw@elsewhere:27017/chat', 'mongodb://app:pw@mongo:27017/other', 'mongodb://root:pw@mongo:27017/chat']) {
    expect(problems({ ...legacy, MONGO_URL: other })).toContain('MONGO_URL and DB_HOST');
  }
});

test('neither style: the in-memory store', () => {
  expect(mongo({})).toBeNull();
  expect(mongo({ MONGO_URL: '', DB_HOST: '' })).toBeNull(); // empty counts as unset
});

test.each([
  [{ MONGO_URL: 'http://db/chat' }, 'MONGO_URL="http://db/chat" is invalid: expected a URL starting with mongodb:// or mongodb+srv://'],
  [{ MONGO_USERNAME: 'app', MONGO_PASSWORD: 'pw' }, 'MONGO_USERNAME/MONGO_PASSWORD are set but DB_HOST is not'],
  [{ DB_HOST: 'mongo', MONGO_USERNAME: 'app' }, 'MONGO_USERNAME and MONGO_PASSWORD must be set together'],
  [{ MONGO_DATABASE: 'bad name', DB_HOST: 'mongo' }, 'MONGO_DATABASE="bad name" is invalid'],
  [{ MONGO_URL: 'mongodb://db/chat', MONGO_SESSION_CLEANUP: 'never' }, 'MONGO_SESSION_CLEANUP="never" is invalid'],
  [{ MONGO_URL: 'mongodb://db/chat', MONGO_CONNECT_RETRIES: '0' }, 'MONGO_CONNECT_RETRIES="0" is invalid'],
  [{ MONGO_URL: 'mongodb://db/chat', MONGO_CONNECT_DELAY_MS: 'soon' }, 'MONGO_CONNECT_DELAY_MS="soon" is invalid'],
])('%j is refused with a message', (env, message) => {
  expect(problems(env)).toContain(message);
});

test('the app started without MongoDB says that nothing survives a restart', async () => {
  const volume = await mkdtemp(path.join(tmpdir(), 'chat-memory-'));
  const app = await startAppProcess({ STORAGE_VOLUME: volume });
  try {
    await app.waitForOutput(/store: in memory, nothing survives a restart/);
  } finally {
    await app.stop();
    await rm(volume, { recursive: true, force: true });
  }
});

test('conflicting Mongo variables stop the app at boot with the reason', async () => {
  const app = await startAppProcess(
    { MONGO_URL: 'mongodb://a:27017/chat', DB_HOST: 'b' },
    { waitFor: 'none' },
  );
  expect(await app.exited).toBe(78);
  expect(app.output()).toContain('MONGO_URL and DB_HOST (with MONGO_USERNAME/MONGO_DATABASE) point at different databases');
});
