import { io as ioClient } from 'socket.io-client';
import { connect, signIn } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';

let app: TestServer;
beforeAll(async () => {
  app = await startServer({ env: { ALLOWED_ORIGINS: 'https://partner.example' } });
});
afterAll(() => app.close());

const signInWith = (headers: Record<string, string>) =>
  fetch(`${app.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name: uniqueId('Origin') }),
  });

describe('state-changing HTTP requests are same-origin only', () => {
  test.each([
    [{ origin: 'http://evil.example' }, 'a request from http://evil.example'],
    [{ origin: 'http://127.0.0.1:1' }, 'a request from http://127.0.0.1:1'],
    [{ 'sec-fetch-site': 'cross-site', origin: 'http://evil.example' }, 'a cross-site request'],
    [{ 'sec-fetch-site': 'same-site' }, 'a same-site request'],
    [{ origin: 'null' }, 'a request from null'],
  ])('%j is refused with 403 CROSS_ORIGIN', async (headers, reason) => {
    const res = await signInWith(headers);
    expect(res.status).toBe(403);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('CROSS_ORIGIN');
    expect(body.error.message).toContain(reason);
  });

  test('a cross-site form POST to /login signs nobody in', async () => {
    const res = await fetch(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
      body: 'name=Mallory',
      redirect: 'manual',
    });
    expect(res.status).toBe(403);
    expect(res.headers.getSetCookie()).toEqual([]);
  });

  test('sign-out and photo changes from another origin are refused too', async () => {
    const { cookie } = await signIn(app.url, uniqueId('Victim'));
    const out = await fetch(`${app.url}/api/session`, { method: 'DELETE', headers: { cookie, 'sec-fetch-site': 'same-site' } });
    expect(out.status).toBe(403);
    const upload = await fetch(`${app.url}/api/avatar`, { method: 'POST', headers: { cookie, origin: 'http://evil.example' }, body: new FormData() });
    expect(upload.status).toBe(403);
    expect((await fetch(`${app.url}/api/session`, { headers: { cookie } })).status).toBe(200);
  });

  test.each([
    [{ 'sec-fetch-site': 'same-origin' }],
    [{ origin: 'http://HOST' }],
    [{ origin: 'https://partner.example' }],
    [{}], // not a browser: no cookie was sent on anybody's behalf
  ])('%j is accepted', async (headers) => {
    const resolved = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('HOST', new URL(app.url).host)]));
    expect((await signInWith(resolved)).status).toBe(201);
  });
});

describe('the Socket.IO handshake', () => {
  const handshake = (headers: Record<string, string>) => fetch(`${app.url}/socket.io/?EIO=4&transport=polling`, { headers });

  test('from another origin is refused with 403 CROSS_ORIGIN, even with a valid session', async () => {
    const { cookie } = await signIn(app.url, uniqueId('Victim'));
    const attempts: Record<string, string>[] = [{ origin: 'http://127.0.0.1:1' }, { 'sec-fetch-site': 'same-site' }];
    for (const headers of attempts) {
      const res = await handshake({ cookie, ...headers });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toMatch(/^CROSS_ORIGIN: refused a/);
    }
    const socket = ioClient(app.url, { transports: ['websocket'], extraHeaders: { cookie, origin: 'http://evil.example' }, reconnection: false, forceNew: true });
    await new Promise((resolve) => socket.once('connect_error', resolve));
    expect(socket.connected).toBe(false);
    socket.close();
    // The same cookie from the app's own origin connects.
    const own = await connect(app.url, `${cookie}`, { transports: ['polling'] });
    expect(own.connected).toBe(true);
    own.close();
  });

  test('cookieless handshakes are refused before engine.io allocates a connection', async () => {
    const before = app.server.io.engine.clientsCount;
    const answers = await Promise.all(Array.from({ length: 300 }, () => handshake({}).then((res) => res.status)));
    expect(new Set(answers)).toEqual(new Set([403]));
    // At most `before`: a socket the previous test closed may still be leaving.
    expect(app.server.io.engine.clientsCount).toBeLessThanOrEqual(before);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(Number(/^chat_connected_sockets (\d+)$/m.exec(metrics)?.[1])).toBeLessThanOrEqual(before);
  });
});

describe('without Sec-Fetch-Site, Origin must be the request\'s own scheme, host and port', () => {
  const host = () => new URL(app.url).host;
  const post = (server: TestServer, headers: Record<string, string>) =>
    fetch(`${server.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: uniqueId('Scheme') }) });
  const handshake = (server: TestServer, headers: Record<string, string>) => fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, { headers });

  test('https://<this host> is another origin than plain-HTTP this host, for writes and sockets', async () => {
    const { cookie } = await signIn(app.url, uniqueId('Scheme'));
    const attempts: Record<string, string>[] = [{ origin: `https://${host()}` }, { origin: `https://${host()}`, 'x-forwarded-proto': 'https' }];
    for (const headers of attempts) {
      const res = await post(app, headers);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(`a request from https://${host()}`);
      const refused = await handshake(app, { cookie, ...headers });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { message: string }).message).toBe(`CROSS_ORIGIN: refused a request from https://${host()}`);
    }
    expect((await handshake(app, { cookie, origin: `http://${host()}` })).status).toBe(200);
  });

  test('behind a trusted proxy, X-Forwarded-Proto says which scheme the page used', async () => {
    const proxied = await startServer({ env: { TRUST_PROXY: 'loopback' } });
    try {
      const own = new URL(proxied.url).host;
      const https = { 'x-forwarded-proto': 'https' };
      expect((await post(proxied, { ...https, origin: `https://${own}` })).status).toBe(201);
      expect((await post(proxied, { ...https, origin: `http://${own}` })).status).toBe(403);
      const { cookie } = await signIn(proxied.url, uniqueId('Proxied'));
      expect((await handshake(proxied, { cookie, ...https, origin: `https://${own}` })).status).toBe(200);
      expect((await handshake(proxied, { cookie, ...https, origin: `http://${own}` })).status).toBe(403);
    } finally {
      await proxied.close();
    }
  });
});

test('an https PUBLIC_URL gives the session cookie the __Host- prefix (Secure, Path=/, no Domain)', async () => {
  const secure = await startServer({ env: { PUBLIC_URL: 'https://chat.example', TRUST_PROXY: 'loopback' } });
  try {
    const res = await fetch(`${secure.url}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https', origin: 'https://chat.example' },
      body: JSON.stringify({ name: 'Hosted' }),
    });
    expect(res.status).toBe(201);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^__Host-chat\.sid=/);
    expect(cookie).toMatch(/; Path=\/;/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).not.toMatch(/Domain=/i);
    const socket = await connect(secure.url, cookie.split(';')[0]!);
    expect(socket.connected).toBe(true);
    socket.close();
  } finally {
    await secure.close();
  }
});
