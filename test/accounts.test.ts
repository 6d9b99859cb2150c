import { io as ioClient } from 'socket.io-client';
import { silentLogger } from '../src/lib/logger';
import { connectMongoStore } from '../src/store/mongo/store';
import type { Store } from '../src/store/types';
import { connect } from './helpers/client';
import { brokerEnv } from './helpers/cluster';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

type Body = { user?: { id: string; name: string }; error?: { code: string; message: string }; password?: boolean; passkeys?: unknown[] };

const call = async (url: string, method: string, path: string, body?: unknown, cookie?: string) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { status: res.status, cookie: cookies, body: (res.status === 204 ? {} : await res.json()) as Body };
};

describe('a password protects a name', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startServer();
  });
  afterAll(() => app.close());

  test('an unclaimed name is entered in one step; a password given then becomes its protection', async () => {
    const name = uniqueId('Pat');
    expect((await call(app.url, 'POST', '/api/session', { name })).status).toBe(201); // the original demo's sign-in
    const claimed = await call(app.url, 'POST', '/api/session', { name, password: 'correct horse battery' });
    expect(claimed.status).toBe(201);

    const without = await call(app.url, 'POST', '/api/session', { name });
    expect(without.status).toBe(401);
    expect(without.body.error).toEqual({ code: 'NAME_PROTECTED', message: `“${name}” is protected: enter its password or sign in with its passkey` });
    const wrong = await call(app.url, 'POST', '/api/session', { name: name.toUpperCase(), password: 'wrong horse battery' });
    expect(wrong).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
    expect(wrong.cookie).toBe('');
    const right = await call(app.url, 'POST', '/api/session', { name: name.toUpperCase(), password: 'correct horse battery' });
    expect(right.status).toBe(201);
    expect(right.body.user!.id).toBe(claimed.body.user!.id);
  });

  test('the password is stored as an argon2id hash, never as typed', async () => {
    const name = uniqueId('Hash');
    const { body } = await call(app.url, 'POST', '/api/session', { name, password: 'a long enough secret' });
    const stored = await app.store.users.findById(body.user!.id);
    expect(stored!.passwordHash).toMatch(/^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/);
    expect(stored!.passwordHash).not.toContain('a long enough secret');
  });

  test('too short a password is INVALID_PASSWORD; guessing is cut off after 10 wrong passwords', async () => {
    const name = uniqueId('Guess');
    expect((await call(app.url, 'POST', '/api/session', { name, password: 'short' })).body.error?.code).toBe('INVALID_PASSWORD');
    await call(app.url, 'POST', '/api/session', { name, password: 'the real password' });
    const codes: string[] = [];
    for (let i = 0; i < 11; i++) codes.push((await call(app.url, 'POST', '/api/session', { name, password: `guess number ${i}` })).body.error!.code);
    expect(codes.slice(0, 10)).toEqual(Array(10).fill('WRONG_PASSWORD'));
    expect(codes[10]).toBe('RATE_LIMITED');
  });

  test('the owner sets, changes (with the current one) and removes the password', async () => {
    const name = uniqueId('Own');
    const { cookie } = await call(app.url, 'POST', '/api/session', { name });
    expect((await call(app.url, 'GET', '/api/protection', undefined, cookie)).body).toMatchObject({ password: false, passkeys: [] });
    expect((await call(app.url, 'PUT', '/api/password', { password: 'first password' }, cookie)).body.password).toBe(true);
    const change = await call(app.url, 'PUT', '/api/password', { password: 'second password' }, cookie);
    expect(change).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
    expect((await call(app.url, 'PUT', '/api/password', { password: 'second password', currentPassword: 'first password' }, cookie)).status).toBe(200);
    expect((await call(app.url, 'POST', '/api/session', { name, password: 'second password' })).status).toBe(201);
    expect((await call(app.url, 'DELETE', '/api/password', { currentPassword: 'second password' }, cookie)).body.password).toBe(false);
    expect((await call(app.url, 'POST', '/api/session', { name })).status).toBe(201);
  });
});

test('REQUIRE_NAME_PROTECTION: no name is entered without a password', async () => {
  const app = await startServer({ env: { REQUIRE_NAME_PROTECTION: 'true' } });
  try {
    const name = uniqueId('Strict');
    const bare = await call(app.url, 'POST', '/api/session', { name });
    expect(bare).toMatchObject({ status: 403, body: { error: { code: 'PROTECTION_REQUIRED' } } });
    expect(await app.store.users.findByName(name)).toBeNull(); // nothing was created
    const { cookie } = await call(app.url, 'POST', '/api/session', { name, password: 'a chosen password' });
    expect((await call(app.url, 'POST', '/api/session', { name })).body.error?.code).toBe('NAME_PROTECTED');
    const remove = await call(app.url, 'DELETE', '/api/password', { currentPassword: 'a chosen password' }, cookie);
    expect(remove).toMatchObject({ status: 403, body: { error: { code: 'PROTECTION_REQUIRED' } } });
  } finally {
    await app.close();
  }
});

describe('sign out everywhere, across two replicas (FerretDB, Redis)', () => {
  let ferret: FerretDB;
  let store: Store;
  let a: TestServer, b: TestServer;
  beforeAll(async () => {
    ferret = await startFerretDB();
    store = await connectMongoStore({ url: ferret.url(), sessionCleanup: 'auto', sessionTtlMs: 3_600_000, connect: { attempts: 3, initialDelayMs: 100 } }, silentLogger);
    const env = { ...brokerEnv('redis'), SESSION_SECRET: 'two-replicas-share-this-secret-0123456789' };
    a = await startServer({ env, store });
    b = await startServer({ env, store });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await store?.close();
    await ferret?.destroy();
  });

  test("ends every session and socket of that person on every replica, and nobody else's", async () => {
    const name = uniqueId('Everywhere');
    const onA = await call(a.url, 'POST', '/api/session', { name, password: 'my long password' });
    const onB = await call(b.url, 'POST', '/api/session', { name, password: 'my long password' });
    const other = await call(b.url, 'POST', '/api/session', { name: uniqueId('Other') });
    const [socketA, socketB, otherSocket] = await Promise.all([connect(a.url, onA.cookie), connect(b.url, onB.cookie), connect(b.url, other.cookie)]);
    const endedA = new Promise((resolve) => socketA.once('disconnect', resolve));
    const endedB = new Promise((resolve) => socketB.once('disconnect', resolve));

    expect((await call(a.url, 'DELETE', '/api/sessions', undefined, onA.cookie)).status).toBe(204);
    expect(await endedA).toBe('io server disconnect');
    expect(await endedB).toBe('io server disconnect');
    expect(otherSocket.connected).toBe(true);

    for (const [url, cookie] of [[a.url, onA.cookie], [b.url, onB.cookie]] as const) {
      expect((await call(url, 'GET', '/api/session', undefined, cookie)).status).toBe(401);
      const handshake = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie } });
      expect(handshake.status).toBe(403);
    }
    // The sessions are gone from the store itself, not only refused.
    const sid = (cookie: string) => decodeURIComponent(cookie.split('=')[1]!).slice(2).split('.')[0]!;
    const stillThere = await new Promise((resolve) => store.createSessionStore().get(sid(onB.cookie), (_e, s) => resolve(s)));
    expect(stillThere).toBeFalsy();
    expect((await call(b.url, 'GET', '/api/session', undefined, other.cookie)).status).toBe(200);
    otherSocket.close();
    const retry = ioClient(b.url, { transports: ['websocket'], extraHeaders: { cookie: onB.cookie }, reconnection: false, forceNew: true });
    await new Promise((resolve) => retry.once('connect_error', resolve));
    retry.close();
  });
});

test('accounts that never protected their name expire after IDLE_ACCOUNT_DAYS with their sessions and sockets; protected ones stay', async () => {
  const app = await startServer({ env: { IDLE_ACCOUNT_DAYS: '30' } });
  try {
    const idle = await call(app.url, 'POST', '/api/session', { name: uniqueId('Idle') });
    const kept = await call(app.url, 'POST', '/api/session', { name: uniqueId('Kept'), password: 'kept for good' });
    const socket = await connect(app.url, idle.cookie);
    const ended = new Promise((resolve) => socket.once('disconnect', resolve));
    expect(await app.server.expireIdleAccounts(Date.now())).toBe(0); // active today
    expect(await app.server.expireIdleAccounts(Date.now() + 31 * 86_400_000)).toBe(1);
    expect(await ended).toBe('io server disconnect');
    expect((await call(app.url, 'GET', '/api/session', undefined, idle.cookie)).status).toBe(401);
    expect(await app.store.users.findById(idle.body.user!.id)).toBeNull();
    expect((await call(app.url, 'GET', '/api/session', undefined, kept.cookie)).status).toBe(200);
  } finally {
    await app.close();
  }
});
