import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import argon2 = require('@node-rs/argon2');
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { io as ioClient } from 'socket.io-client';
import { silentLogger } from '../src/lib/logger';
import { connectMongoStore } from '../src/store/mongo/store';
import type { Store } from '../src/store/types';
import { connect, expectOk, request, type ChatClient } from './helpers/client';
import { brokerEnv } from './helpers/cluster';
import { startFerretDB, type FerretDB } from './helpers/ferretdb';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

type Body = {
  user?: { id: string; name: string };
  error?: { code: string; message: string };
  password?: boolean;
  passkeys?: unknown[];
  challenge?: string;
};

const call = async (url: string, method: string, path: string, body?: unknown, cookie?: string) => {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const cookies = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  return { status: res.status, cookie: cookies, body: (res.status === 204 ? {} : await res.json()) as Body };
};

/** Watch before acting: resolves with the socket's disconnect reason, or 'still connected' after `ms`. */
const disconnection = (socket: ChatClient, ms = 10_000) =>
  Promise.race([new Promise((resolve) => socket.once('disconnect', resolve)), sleep(ms, 'still connected')]);

/** Posts to general: what an intruder's socket does with the access it has. */
const post = async (socket: ChatClient, text: string) => {
  const general = expectOk(await request(socket, 'room:list')).rooms.find((room) => room.name === 'general')!;
  expectOk(await request(socket, 'room:join', { roomId: general.id }));
  return request(socket, 'message:send', { roomId: general.id, text });
};

/** True while the server (any replica) holds a socket of this person. */
const hasSocket = async (app: TestServer, userId: string) => (await app.server.io.fetchSockets()).some((s) => s.data.user.id === userId);

/** Handshake refused (the session is over) or accepted. */
const reconnects = (url: string, cookie: string) =>
  new Promise((resolve) => {
    const socket = ioClient(url, { transports: ['websocket'], extraHeaders: { cookie }, reconnection: false, forceNew: true });
    socket.once('connect', () => resolve(socket.close() && true));
    socket.once('connect_error', () => resolve(false));
  });

/**
 * A passkey on a software authenticator (ES256, "none" attestation): the answers a phone or a
 * security key gives the browser, built by hand so the API is exercised without one.
 */
function softPasskey(origin: string) {
  const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
  const rpIdHash = createHash('sha256').update(new URL(origin).hostname).digest();
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = isoCBOR.encode(
    new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]]),
  );
  const rawId = randomBytes(16);
  const id = b64url(rawId);
  let counter = 0;
  const next = () => Buffer.from([0, 0, 0, ++counter]);
  const clientData = (type: string, challenge: string) => Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  return {
    id,
    /** As the store keeps it, to plant a passkey without the API. */
    record: () => ({ id, publicKey: b64url(cose), counter: 0, transports: ['internal'], createdAt: new Date() }),
    register(challenge: string) {
      const authData = Buffer.concat([rpIdHash, Buffer.from([0x45]), next(), Buffer.alloc(16), Buffer.from([0, rawId.length]), rawId, cose]);
      const attestation = isoCBOR.encode(new Map<string, string | Uint8Array | Map<string, string>>([['fmt', 'none'], ['attStmt', new Map<string, string>()], ['authData', authData]]));
      const response = { clientDataJSON: b64url(clientData('webauthn.create', challenge)), attestationObject: b64url(attestation), transports: ['internal'] };
      return { id, rawId: id, type: 'public-key', response, clientExtensionResults: {} };
    },
    authenticate(challenge: string) {
      const authData = Buffer.concat([rpIdHash, Buffer.from([0x05]), next()]);
      const data = clientData('webauthn.get', challenge);
      const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(data).digest()]), privateKey);
      const response = { clientDataJSON: b64url(data), authenticatorData: b64url(authData), signature: b64url(signature) };
      return { id, rawId: id, type: 'public-key', response, clientExtensionResults: {} };
    },
  };
}
type SoftPasskey = ReturnType<typeof softPasskey>;

const addPasskey = async (url: string, cookie: string, key: SoftPasskey, currentPassword?: string) => {
  const proof = currentPassword === undefined ? {} : { currentPassword };
  const options = await call(url, 'POST', '/api/passkeys/options', proof, cookie);
  if (options.status !== 200) return options;
  return call(url, 'POST', '/api/passkeys', { response: key.register(options.body.challenge!), ...proof }, cookie);
};

const signInWithPasskey = async (url: string, name: string, key: SoftPasskey) => {
  const options = await call(url, 'POST', '/api/passkey-login/options', { name });
  return call(url, 'POST', '/api/passkey-login', { response: key.authenticate(options.body.challenge!) }, options.cookie);
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

  test('after 10 wrong passwords even the right one is refused: the name is locked, not merely slowed', async () => {
    const name = uniqueId('Lock');
    await call(app.url, 'POST', '/api/session', { name, password: 'the real password' });
    for (let i = 0; i < 10; i++) {
      expect((await call(app.url, 'POST', '/api/session', { name, password: `guess number ${i}` })).body.error?.code).toBe('WRONG_PASSWORD');
    }
    const verify = jest.spyOn(argon2, 'verify');
    try {
      const right = await call(app.url, 'POST', '/api/session', { name, password: 'the real password' });
      expect(right).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
      expect(right.cookie).toBe('');
      expect(verify).not.toHaveBeenCalled(); // refused before spending argon2 on it
    } finally {
      verify.mockRestore();
    }
  });

  test('guesses sent all at once are counted before they are verified: 10 get an answer, however many are sent', async () => {
    const name = uniqueId('Burst');
    await call(app.url, 'POST', '/api/session', { name, password: 'the real password' });
    const verify = jest.spyOn(argon2, 'verify');
    try {
      const guesses = Array.from({ length: 30 }, (_, i) => call(app.url, 'POST', '/api/session', { name, password: `guess number ${i}` }));
      const codes = (await Promise.all(guesses)).map((r) => r.body.error?.code);
      expect(codes.filter((code) => code === 'WRONG_PASSWORD')).toHaveLength(10);
      expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(20);
      expect(verify).toHaveBeenCalledTimes(10);
    } finally {
      verify.mockRestore();
    }
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

  test('also ends a socket of a session older than the last 100 it remembers', async () => {
    const name = uniqueId('Many');
    const oldest = await call(a.url, 'POST', '/api/session', { name });
    const userId = oldest.body.user!.id;
    const socket = await connect(a.url, oldest.cookie);
    expect((await post(socket, 'still here')).ok).toBe(true);
    let newest = oldest;
    for (let i = 0; i < 101; i++) newest = await call(i % 2 ? a.url : b.url, 'POST', '/api/session', { name });
    expect((await store.users.findById(userId))!.sessionEpoch).toBe(0);

    const ended = disconnection(socket);
    expect((await call(b.url, 'DELETE', '/api/sessions', undefined, newest.cookie)).status).toBe(204);
    expect(await ended).toBe('io server disconnect');
    expect(await hasSocket(a, userId)).toBe(false);
    expect((await call(a.url, 'GET', '/api/session', undefined, oldest.cookie)).status).toBe(401);
    expect((await call(b.url, 'PUT', '/api/password', { password: 'taken over now' }, oldest.cookie)).status).toBe(401);
    expect(await reconnects(a.url, oldest.cookie)).toBe(false);
    expect(await reconnects(b.url, oldest.cookie)).toBe(false);
  });

  test('protecting an open name the first time ends whoever else entered it, on every replica; the protecting session stays', async () => {
    const name = uniqueId('Claim');
    const intruder = await call(a.url, 'POST', '/api/session', { name });
    const owner = await call(b.url, 'POST', '/api/session', { name });
    const [intruderSocket, ownerSocket] = await Promise.all([connect(a.url, intruder.cookie), connect(b.url, owner.cookie)]);

    const ended = disconnection(intruderSocket);
    expect((await call(b.url, 'PUT', '/api/password', { password: 'mine from now on' }, owner.cookie)).status).toBe(200);
    expect(await ended).toBe('io server disconnect');
    expect((await call(a.url, 'GET', '/api/session', undefined, intruder.cookie)).status).toBe(401);
    expect(await reconnects(a.url, intruder.cookie)).toBe(false);

    expect(ownerSocket.connected).toBe(true);
    expect((await post(ownerSocket, 'I protected my name')).ok).toBe(true);
    expect((await call(a.url, 'GET', '/api/session', undefined, owner.cookie)).status).toBe(200);
    expect(await reconnects(a.url, owner.cookie)).toBe(true);
    ownerSocket.close();
  });
});

describe('changing a name’s protection needs proof of owning it', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startServer();
  });
  afterAll(() => app.close());

  test('a password given at sign-in to an open name ends the sessions and sockets of whoever entered it before', async () => {
    const name = uniqueId('Late');
    const intruder = await call(app.url, 'POST', '/api/session', { name });
    const socket = await connect(app.url, intruder.cookie);
    const ended = disconnection(socket);
    const owner = await call(app.url, 'POST', '/api/session', { name, password: 'protected at last' });
    expect(owner.status).toBe(201);
    expect(await ended).toBe('io server disconnect');
    expect((await call(app.url, 'GET', '/api/session', undefined, intruder.cookie)).status).toBe(401);
    expect((await call(app.url, 'GET', '/api/session', undefined, owner.cookie)).status).toBe(200);
  });

  test('a first passkey ends the other sessions and sockets; the session that added it may go on changing the protection', async () => {
    const name = uniqueId('Keyed');
    const key = softPasskey(app.url);
    const intruder = await call(app.url, 'POST', '/api/session', { name });
    const owner = await call(app.url, 'POST', '/api/session', { name });
    const [intruderSocket, ownerSocket] = await Promise.all([connect(app.url, intruder.cookie), connect(app.url, owner.cookie)]);

    const ended = disconnection(intruderSocket);
    expect(await addPasskey(app.url, owner.cookie, key)).toMatchObject({ status: 201, body: { password: false, passkeys: [{ id: key.id }] } });
    expect(await ended).toBe('io server disconnect');
    expect((await call(app.url, 'PUT', '/api/password', { password: 'the intruder’s own' }, intruder.cookie)).status).toBe(401);
    expect((await call(app.url, 'POST', '/api/session', { name })).body.error?.code).toBe('NAME_PROTECTED');

    expect(ownerSocket.connected).toBe(true);
    expect((await call(app.url, 'PUT', '/api/password', { password: 'and a password too' }, owner.cookie)).status).toBe(200);
    expect((await signInWithPasskey(app.url, name, key)).status).toBe(201);
    ownerSocket.close();
  });

  test('on a name with a password, adding or removing a passkey needs the current password', async () => {
    const name = uniqueId('Both');
    const { cookie } = await call(app.url, 'POST', '/api/session', { name, password: 'the owner’s password' });
    const key = softPasskey(app.url);
    expect(await addPasskey(app.url, cookie, key)).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
    expect(await addPasskey(app.url, cookie, key, 'a wrong password')).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
    // The ceremony's end checks again: a challenge got with the password does not carry it.
    const options = await call(app.url, 'POST', '/api/passkeys/options', { currentPassword: 'the owner’s password' }, cookie);
    const unproven = await call(app.url, 'POST', '/api/passkeys', { response: key.register(options.body.challenge!) }, cookie);
    expect(unproven).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
    expect((await app.store.users.findByName(name))!.passkeys).toEqual([]);

    expect((await addPasskey(app.url, cookie, key, 'the owner’s password')).status).toBe(201);
    const remove = (body: unknown) => call(app.url, 'DELETE', `/api/passkeys/${key.id}`, body, cookie);
    expect(await remove({})).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
    expect((await app.store.users.findByName(name))!.passkeys).toHaveLength(1);
    expect(await remove({ currentPassword: 'the owner’s password' })).toMatchObject({ status: 200, body: { passkeys: [] } });
  });

  test('on a passkey-only name, a session that entered with the name alone changes nothing; one signed in with the passkey does', async () => {
    const name = uniqueId('Legacy');
    const key = softPasskey(app.url);
    // A session from before the name was protected that survived (made before first protections ended them).
    const old = await call(app.url, 'POST', '/api/session', { name });
    await app.store.users.addPasskey(old.body.user!.id, key.record());

    const refused = { status: 401, body: { error: { code: 'NAME_PROTECTED' } } };
    expect(await call(app.url, 'PUT', '/api/password', { password: 'somebody else’s' }, old.cookie)).toMatchObject(refused);
    expect(await addPasskey(app.url, old.cookie, softPasskey(app.url))).toMatchObject(refused);
    expect(await call(app.url, 'DELETE', `/api/passkeys/${key.id}`, {}, old.cookie)).toMatchObject(refused);
    expect((await app.store.users.findByName(name))!).toMatchObject({ passwordHash: null, passkeys: [{ id: key.id }] });

    const owner = await signInWithPasskey(app.url, name, key);
    expect(owner.status).toBe(201);
    expect((await call(app.url, 'PUT', '/api/password', { password: 'the owner’s password' }, owner.cookie)).status).toBe(200);
    expect((await call(app.url, 'DELETE', `/api/passkeys/${key.id}`, {}, owner.cookie)).status).toBe(401); // now it has a password
  });
});

test('accounts that never protected their name expire after IDLE_ACCOUNT_DAYS with their sessions and sockets; protected ones stay', async () => {
  const app = await startServer({ env: { IDLE_ACCOUNT_DAYS: '30' } });
  try {
    const idleName = uniqueId('Idle');
    const idle = await call(app.url, 'POST', '/api/session', { name: idleName });
    const kept = await call(app.url, 'POST', '/api/session', { name: uniqueId('Kept'), password: 'kept for good' });
    const socket = await connect(app.url, idle.cookie);
    // More sessions than are remembered: the socket of the first must go all the same.
    for (let i = 0; i < 101; i++) await call(app.url, 'POST', '/api/session', { name: idleName });
    const ended = disconnection(socket);
    expect(await app.server.expireIdleAccounts(Date.now())).toBe(0); // active today
    expect(await app.server.expireIdleAccounts(Date.now() + 31 * 86_400_000)).toBe(1);
    expect(await ended).toBe('io server disconnect');
    expect(await hasSocket(app, idle.body.user!.id)).toBe(false);
    expect((await call(app.url, 'GET', '/api/session', undefined, idle.cookie)).status).toBe(401);
    expect(await reconnects(app.url, idle.cookie)).toBe(false);
    expect(await app.store.users.findById(idle.body.user!.id)).toBeNull();
    expect((await call(app.url, 'GET', '/api/session', undefined, kept.cookie)).status).toBe(200);
  } finally {
    await app.close();
  }
});
