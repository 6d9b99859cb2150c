import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';

/** The smallest valid-looking files of each type: only the first bytes decide. */
const IMAGES = {
  png: Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.alloc(64)]),
  jpg: Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), Buffer.alloc(64)]),
  gif: Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(64)]),
  webp: Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.alloc(4), Buffer.from('WEBPVP8 ', 'latin1'), Buffer.alloc(64)]),
};

let app: TestServer;
beforeAll(async () => {
  app = await startServer();
});
afterAll(() => app.close());

async function upload(cookie: string, file?: { bytes: Buffer; name: string; type: string }) {
  const form = new FormData();
  if (file) form.append('avatar', new Blob([file.bytes], { type: file.type }), file.name);
  const res = await fetch(`${app.url}/api/avatar`, { method: 'POST', headers: { cookie }, body: form });
  return { status: res.status, body: (await res.json()) as { user?: { avatarUrl: string }; error?: { code: string; message: string } } };
}

const storedFiles = async () => (await readdir(path.join(app.storageVolume, 'avatars'))).sort();

test.each(Object.entries(IMAGES))('a %s photo is stored under a server-made name and served back', async (ext, bytes) => {
  const { cookie } = await signIn(app.url, uniqueId('Pic'));
  const { status, body } = await upload(cookie, { bytes, name: 'me.exe', type: 'application/octet-stream' });
  expect(status).toBe(200);
  expect(body.user!.avatarUrl).toMatch(new RegExp(`^/avatars/[a-f0-9]{32}\\.${ext}$`));
  const file = path.join(app.storageVolume, body.user!.avatarUrl);
  expect(await readFile(file)).toEqual(bytes);
  const served = await fetch(`${app.url}${body.user!.avatarUrl}`);
  expect(served.status).toBe(200);
  expect(Buffer.from(await served.arrayBuffer())).toEqual(bytes);
});

test('everyone online sees the new photo at once; the old file is removed; signing in again keeps it', async () => {
  const name = uniqueId('Ava');
  const owner = await signIn(app.url, name);
  const watcher: ChatClient = await connect(app.url, (await signIn(app.url, uniqueId('Watcher'))).cookie);
  const first = await upload(owner.cookie, { bytes: IMAGES.png, name: 'a.png', type: 'image/png' });
  const updated = nextEvent(watcher, 'user:updated', (u) => u.id === owner.user.id);
  const second = await upload(owner.cookie, { bytes: IMAGES.gif, name: 'b.gif', type: 'image/gif' });
  expect((await updated).avatarUrl).toBe(second.body.user!.avatarUrl);
  expect(await storedFiles()).not.toContain(path.basename(first.body.user!.avatarUrl));

  const again = await signIn(app.url, name);
  expect(again.user.avatarUrl).toBe(second.body.user!.avatarUrl);
  watcher.close();
});

test('presence and message authors show the new photo', async () => {
  const { cookie, user } = await signIn(app.url, uniqueId('Face'));
  const socket = await connect(app.url, cookie);
  const { rooms } = expectOk(await request(socket, 'room:list'));
  const roomId = rooms[0]!.id;
  expectOk(await request(socket, 'room:join', { roomId }));
  const { body } = await upload(cookie, { bytes: IMAGES.jpg, name: 'x.jpg', type: 'image/jpeg' });
  const { message } = expectOk(await request(socket, 'message:send', { roomId, text: 'new look' }));
  expect(message.author.avatarUrl).toBe(body.user!.avatarUrl);
  const { presence } = expectOk(await request(socket, 'room:join', { roomId }));
  expect(presence.users.find((u) => u.id === user.id)?.avatarUrl).toBe(body.user!.avatarUrl);
  socket.close();
});

describe('refused uploads leave nothing on disk', () => {
  let cookie: string;
  let before: string[];
  beforeEach(async () => {
    ({ cookie } = await signIn(app.url, uniqueId('Bad')));
    before = await storedFiles();
  });
  afterEach(async () => {
    expect(await storedFiles()).toEqual(before);
  });

  test('too large', async () => {
    const bytes = Buffer.concat([IMAGES.png, Buffer.alloc(2 * 1024 * 1024)]);
    const { status, body } = await upload(cookie, { bytes, name: 'big.png', type: 'image/png' });
    expect(status).toBe(413);
    expect(body.error).toEqual({ code: 'FILE_TOO_LARGE', message: 'The photo must be at most 2 MB' });
  });

  test('wrong type, whatever the name and declared type say', async () => {
    const bytes = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');
    const { status, body } = await upload(cookie, { bytes, name: 'cat.png', type: 'image/png' });
    expect(status).toBe(415);
    expect(body.error?.code).toBe('UNSUPPORTED_FILE_TYPE');
    expect(body.error?.message).toMatch(/PNG, JPEG, GIF or WebP/);
  });

  test('empty', async () => {
    const { status, body } = await upload(cookie, { bytes: Buffer.alloc(0), name: 'e.png', type: 'image/png' });
    expect(status).toBe(400);
    expect(body.error?.code).toBe('FILE_EMPTY');
  });

  test('missing', async () => {
    const { status, body } = await upload(cookie);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('FILE_MISSING');
  });

  test('two files at once', async () => {
    const form = new FormData();
    form.append('avatar', new Blob([IMAGES.png]), 'a.png');
    form.append('avatar', new Blob([IMAGES.png]), 'b.png');
    const res = await fetch(`${app.url}/api/avatar`, { method: 'POST', headers: { cookie }, body: form });
    expect(res.status).toBe(400);
  });

  test('not signed in', async () => {
    const form = new FormData();
    form.append('avatar', new Blob([IMAGES.png]), 'a.png');
    const res = await fetch(`${app.url}/api/avatar`, { method: 'POST', body: form });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });
});

test('the avatars folder serves no dotfiles or directory listings', async () => {
  expect((await fetch(`${app.url}/avatars/`)).status).toBe(404);
  expect((await fetch(`${app.url}/avatars/..%2f..%2fpackage.json`)).status).toBe(404);
});
