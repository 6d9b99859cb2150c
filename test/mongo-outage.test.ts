import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startAppProcess, type AppProcess } from './helpers/app-process';
import { connect, expectOk, request, signIn, type ChatClient } from './helpers/client';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { freePort, uniqueId } from './helpers/net';

/** MongoDB going away under a running app, and coming back: the database server is this test's own. */

let ferret: FerretDB;
let volume: string;
let app: AppProcess;
let socket: ChatClient | undefined;
beforeAll(async () => {
  ferret = await startFerretDB();
  volume = await mkdtemp(path.join(tmpdir(), 'chat-outage-'));
  app = await startAppProcess({ MONGO_URL: ferret.url(), STORAGE_VOLUME: volume }, { waitFor: 'readyz' });
});
afterAll(async () => {
  socket?.close();
  await app.stop();
  await ferret.destroy();
  await rm(volume, { recursive: true, force: true });
});

/** Polls /readyz (a foreign process) until it says `ready`. */
async function waitForReadiness(url: string, ready: boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    const body = (await res.json()) as { checks: { store: { ready: boolean } } };
    if (res.ok === ready && body.checks.store.ready === ready) return;
    if (Date.now() > deadline) throw new Error(`/readyz did not turn ${ready ? 'ready' : 'not ready'}: ${JSON.stringify(body)}`);
    await sleep(100);
  }
}

test('while MongoDB is down the app stays up and says so; afterwards everything works without a restart', async () => {
  const signedIn = await signIn(app.url, uniqueId('Lee'));
  socket = await connect(app.url, signedIn.cookie);
  const { rooms } = expectOk(await request(socket, 'room:list'));
  const general = rooms.find((r) => r.name === 'general')!;
  expectOk(await request(socket, 'room:join', { roomId: general.id }));

  await ferret.stop();
  await waitForReadiness(app.url, false);

  const newcomer = uniqueId('Max');
  const [sent, apiSignIn, formSignIn, signedInPage] = await Promise.all([
    request(socket, 'message:send', { roomId: general.id, text: 'during the outage', clientId: 'retry-me' }),
    fetch(`${app.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: newcomer }),
    }),
    fetch(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: newcomer }),
      redirect: 'manual',
    }),
    // With a session cookie, loading the session itself fails.
    fetch(`${app.url}/api/session`, { headers: { cookie: signedIn.cookie } }),
  ]);
  expect(sent).toEqual({ ok: false, error: { code: 'STORE_UNAVAILABLE', message: 'The database is unavailable, please try again' } });
  expect(apiSignIn.status).toBe(503);
  expect(await apiSignIn.json()).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'The database is unavailable, please try again' } });
  expect(formSignIn.status).toBe(503);
  expect(await formSignIn.text()).toContain('The database is unavailable, please try again');
  expect(signedInPage.status).toBe(503);
  await app.waitForOutput(/lost MongoDB/);
  expect(app.child.exitCode).toBeNull();
  expect((await fetch(`${app.url}/healthz`)).status).toBe(200);

  await ferret.start();
  await waitForReadiness(app.url, true);
  // The client retries with the same clientId: one message, not two.
  const retried = expectOk(await request(socket, 'message:send', { roomId: general.id, text: 'during the outage', clientId: 'retry-me' }));
  expect(expectOk(await request(socket, 'message:send', { roomId: general.id, text: 'x', clientId: 'retry-me' })).message.id).toBe(
    retried.message.id,
  );
  const history = expectOk(await request(socket, 'room:join', { roomId: general.id }));
  expect(history.messages.filter((m) => m.clientId === 'retry-me')).toHaveLength(1);
  expect((await signIn(app.url, newcomer)).user.name).toBe(newcomer);
  expect((await fetch(`${app.url}/api/session`, { headers: { cookie: signedIn.cookie } })).status).toBe(200);
});

test('at boot, the app retries MongoDB with back-off, logs each attempt, and exits with a clear error after the limit', async () => {
  const port = await freePort();
  const booting = await startAppProcess(
    { MONGO_URL: `mongodb://127.0.0.1:${port}/chat`, MONGO_CONNECT_RETRIES: '2', MONGO_CONNECT_DELAY_MS: '10', STORAGE_VOLUME: volume },
    { waitFor: 'none' },
  );
  expect(await booting.exited).toBe(1);
  expect(booting.output()).toContain(`unreachable (attempt 1/2)`);
  expect(booting.output()).toContain(`Startup failed: Could not connect to MongoDB at mongodb://127.0.0.1:${port}/chat after 2 attempts`);
});
