import { io as ioClient } from 'socket.io-client';
import { connect, expectOk, nextEvent, request, signIn } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';

let app: TestServer;
beforeAll(async () => {
  app = await startServer();
});
afterAll(() => app.close());

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${app.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
    redirect: 'manual',
  });

describe('sign-in with a display name', () => {
  test('sets an httpOnly SameSite=Lax session cookie and returns the user', async () => {
    const res = await post('/api/session', { name: '  Zoë  Ångström ' });
    expect(res.status).toBe(201);
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^chat\.sid=/);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i); // plain HTTP, no trusted proxy
    const { user } = (await res.json()) as { user: { name: string; avatarUrl: null } };
    expect(user).toMatchObject({ name: 'Zoë Ångström', avatarUrl: null });
  });

  test('behind a trusted TLS-terminating proxy the cookie is also Secure', async () => {
    const proxied = await startServer({ env: { TRUST_PROXY: '1' } });
    try {
      const res = await fetch(`${proxied.url}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ name: 'Tess' }),
      });
      expect(res.headers.get('set-cookie')).toMatch(/; Secure/i);
    } finally {
      await proxied.close();
    }
  });

  test('the same name (any case) signs back into the same user', async () => {
    const name = uniqueId('Sam');
    const first = await signIn(app.url, name);
    const second = await signIn(app.url, name.toUpperCase());
    expect(second.user.id).toBe(first.user.id);
    expect(second.user.name).toBe(name);
  });

  test.each([
    ['empty', '   ', 'Enter a name'],
    ['too long', 'x'.repeat(33), 'at most 32'],
    ['markup', '<script>', 'only contain letters'],
    ['emoji', 'Bob 🎉', 'only contain letters'],
  ])('refuses a name that is %s with a message', async (_label, name, message) => {
    const res = await post('/api/session', { name });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INVALID_NAME');
    expect(body.error.message).toContain(message);
  });

  test.each([
    ['a name that is not a string', { name: 42 }],
    ['an unknown field', { name: 'Ok', admin: true }],
  ])('refuses %s with INVALID_PAYLOAD', async (_label, body) => {
    const res = await post('/api/session', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_PAYLOAD');
  });

  test('accepts names in any script, digits and . _ -', async () => {
    for (const name of ['李小龙', 'Дарья_2', 'o.brien-99', 'محمد']) {
      expect((await post('/api/session', { name })).status).toBe(201);
    }
  });

  test('the HTML form signs in and redirects to the chat; a bad name re-renders the form with the error', async () => {
    const ok = await fetch(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=Form+User',
      redirect: 'manual',
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get('location')).toBe('/');

    const bad = await fetch(`${app.url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E',
      redirect: 'manual',
    });
    expect(bad.status).toBe(400);
    const html = await bad.text();
    expect(html).toContain('may only contain letters');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  test('GET /api/session tells who is signed in; DELETE signs out', async () => {
    const { cookie, user } = await signIn(app.url, uniqueId('Ann'));
    const me = await fetch(`${app.url}/api/session`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { id: string } }).user.id).toBe(user.id);

    const out = await fetch(`${app.url}/api/session`, { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(204);
    const after = await fetch(`${app.url}/api/session`, { headers: { cookie } });
    expect(after.status).toBe(401);
  });
});

describe('the socket handshake is authenticated by the session', () => {
  test('a socket without a session is refused at the handshake: 403 UNAUTHORIZED, never a connection', async () => {
    const socket = ioClient(app.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    await new Promise((resolve) => socket.once('connect_error', resolve));
    socket.close();
    const res = await fetch(`${app.url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ code: 4, message: 'UNAUTHORIZED: Sign in first' });
    expect(app.server.io.engine.clientsCount).toBe(0);
  });

  test('a forged cookie is refused', async () => {
    const socket = ioClient(app.url, {
      transports: ['polling'],
      extraHeaders: { cookie: 'chat.sid=s%3Aforged.signature' },
      reconnection: false,
      forceNew: true,
    });
    await new Promise((resolve) => socket.once('connect_error', resolve));
    socket.close();
    const res = await fetch(`${app.url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie: 'chat.sid=s%3Aforged.signature' } });
    expect(await res.json()).toEqual({ code: 4, message: 'UNAUTHORIZED: Sign in first' });
  });

  test('a signed-in socket is welcomed with its user and the serving instance', async () => {
    const { cookie, user } = await signIn(app.url, uniqueId('Wel'));
    const socket = ioClient(app.url, { extraHeaders: { cookie }, transports: ['websocket'], reconnection: false, forceNew: true });
    const welcome = await nextEvent(socket, 'welcome');
    expect(welcome.user).toEqual(user);
    expect(welcome.server).toMatchObject({ broker: 'none', store: 'memory' });
    expect(welcome.server.instance).toEqual(expect.any(String));
    socket.close();
  });

  test("signing in again from a browser replaces its session: the old session's sockets are disconnected", async () => {
    const alice = await signIn(app.url, uniqueId('Alice'));
    const socket = await connect(app.url, alice.cookie);
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    const res = await post('/api/session', { name: uniqueId('Bob') }, { cookie: alice.cookie });
    expect(res.status).toBe(201);
    expect(res.headers.get('set-cookie')).not.toContain(alice.cookie); // a new session id
    expect(await disconnected).toBe('io server disconnect');
  });

  test('a socket whose session has expired is disconnected at its next event', async () => {
    const { cookie } = await signIn(app.url, uniqueId('Exp'));
    const socket = await connect(app.url, cookie);
    const [serverSide] = await app.server.io.in(socket.id!).fetchSockets();
    expect(serverSide!.data.sessionExpiresAt).toBeGreaterThan(Date.now());
    app.server.io.of('/').sockets.get(socket.id!)!.data.sessionExpiresAt = Date.now() - 1;
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    socket.emit('room:list', {}, () => {});
    expect(await disconnected).toBe('io server disconnect');
  });

  test("signing out disconnects that session's sockets, not the user's other sessions", async () => {
    const name = uniqueId('Two');
    const laptop = await signIn(app.url, name);
    const phone = await signIn(app.url, name);
    const a = await connect(app.url, laptop.cookie);
    const b = await connect(app.url, phone.cookie);
    const disconnected = new Promise<string>((resolve) => a.once('disconnect', resolve));
    await fetch(`${app.url}/api/session`, { method: 'DELETE', headers: { cookie: laptop.cookie } });
    expect(await disconnected).toBe('io server disconnect');
    expect(b.connected).toBe(true);
    expectOk(await request(b, 'room:list'));
    b.close();
  });
});
