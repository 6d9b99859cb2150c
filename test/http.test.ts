import { connect, expectOk, request, signIn } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import type { Store } from '../src/store/types';
import { createMemoryStore } from '../src/store/memory';

let app: TestServer;
beforeAll(async () => {
  app = await startServer({ env: { SIGNIN_RATE_LIMIT: '3', INSTANCE_NAME: 'replica-7' } });
});
afterAll(() => app.close());

test('GET /healthz says the process is alive and names the instance', async () => {
  const res = await fetch(`${app.url}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok', instance: 'replica-7' });
});

test('GET /readyz reports the store and the broker', async () => {
  const res = await fetch(`${app.url}/readyz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({
    status: 'ready',
    instance: 'replica-7',
    checks: { store: { kind: 'memory', ready: true }, broker: { kind: 'none', ready: true } },
  });
});

test('GET /readyz answers 503 while the store is not reachable', async () => {
  const store: Store = { ...createMemoryStore(), isReady: async () => false };
  const down = await startServer({ store });
  try {
    const res = await fetch(`${down.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'not ready', checks: { store: { ready: false } } });
  } finally {
    await down.close();
  }
});

test('pages are served with a strict content security policy and no framework banner', async () => {
  const res = await fetch(`${app.url}/login`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(res.headers.get('x-powered-by')).toBeNull();
  const html = await res.text();
  expect(html).toContain('replica-7'); // the badge showing which replica served the page
});

test('the chat page sends people who are not signed in to the sign-in page', async () => {
  const res = await fetch(`${app.url}/`, { redirect: 'manual' });
  expect(res.status).toBe(303);
  expect(res.headers.get('location')).toBe('/login');
});

test('malformed or oversized JSON gets a 400 with a message, unknown API paths a JSON 404', async () => {
  const malformed = await fetch(`${app.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"name":',
  });
  expect(malformed.status).toBe(400);
  expect(await malformed.json()).toEqual({ error: { code: 'INVALID_PAYLOAD', message: expect.any(String) } });

  const huge = await fetch(`${app.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x'.repeat(20_000) }),
  });
  expect(huge.status).toBe(413);
  expect(((await huge.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');

  const missing = await fetch(`${app.url}/api/nothing`);
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as { error: { message: string } }).error.message).toBe('No such API endpoint');
});

test('GET /metrics exposes Prometheus metrics: connections, messages, error acks by code', async () => {
  const metrics = async () => (await fetch(`${app.url}/metrics`)).text();
  const socket = await connect(app.url, (await signIn(app.url, 'Metric')).cookie);
  const { rooms } = expectOk(await request(socket, 'room:list'));
  expectOk(await request(socket, 'room:join', { roomId: rooms[0]!.id }));
  expectOk(await request(socket, 'message:send', { roomId: rooms[0]!.id, text: 'counted' }));
  await request(socket, 'message:send', { roomId: rooms[0]!.id, text: '' });
  const text = await metrics();
  expect(text).toMatch(/^chat_connected_sockets 1$/m);
  expect(text).toMatch(/^chat_messages_sent_total 1$/m);
  expect(text).toMatch(/^chat_request_errors_total\{event="message:send",code="MESSAGE_EMPTY"\} 1$/m);
  expect(text).toContain('process_resident_memory_bytes');
  socket.close();
});

test('with METRICS_PORT, /metrics is served on that port only, away from the public one', async () => {
  const separate = await startServer({ env: { METRICS_PORT: '9464' } });
  try {
    expect((await fetch(`${separate.url}/metrics`)).status).toBe(404);
    const res = await fetch(separate.metricsUrl!);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^chat_connected_sockets 0$/m);
  } finally {
    await separate.close();
  }
});

// Last: it uses up this server's sign-in allowance.
test('sign-in attempts are rate limited per address (SIGNIN_RATE_LIMIT)', async () => {
  const attempt = () =>
    fetch(`${app.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Limit' }),
    });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i += 1) statuses.push((await attempt()).status);
  expect(statuses.slice(0, 2)).toEqual([201, 201]);
  expect(statuses.at(-1)).toBe(429);
});
