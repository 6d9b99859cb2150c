import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';
import { blackPng } from './helpers/png';

/** A real picture in each accepted format, made here so the tests ship no binary fixtures. */
const picture = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 40, b: 90 } } });
const IMAGES: Record<string, Buffer> = {};
beforeAll(async () => {
  IMAGES.png = await picture(800, 600).png().toBuffer();
  IMAGES.jpg = await picture(640, 480).jpeg().toBuffer();
  IMAGES.gif = await picture(64, 64).gif().toBuffer();
  IMAGES.webp = await picture(300, 300).webp().toBuffer();
});

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

test.each(['png', 'jpg', 'gif', 'webp'])('a %s photo is re-encoded to a WebP of at most 512×512 under a server-made name and served back', async (ext) => {
  const { cookie } = await signIn(app.url, uniqueId('Pic'));
  const { status, body } = await upload(cookie, { bytes: IMAGES[ext]!, name: 'me.exe', type: 'application/octet-stream' });
  expect(status).toBe(200);
  expect(body.user!.avatarUrl).toMatch(/^\/avatars\/[a-f0-9]{32}\.webp$/);
  const stored = await readFile(path.join(app.storageVolume, body.user!.avatarUrl));
  const meta = await sharp(stored).metadata();
  expect(meta.format).toBe('webp');
  expect(Math.max(meta.width, meta.height)).toBeLessThanOrEqual(512);
  const served = await fetch(`${app.url}${body.user!.avatarUrl}`);
  expect(served.status).toBe(200);
  expect(Buffer.from(await served.arrayBuffer())).toEqual(stored);
});

test('EXIF and GPS metadata are stripped; the orientation is applied first', async () => {
  const { cookie } = await signIn(app.url, uniqueId('Geo'));
  const tagged = await picture(400, 200)
    .jpeg()
    .withExif({ IFD0: { Make: 'SpyCam' }, IFD3: { GPSLatitude: '48/1 51/1 24/1', GPSLatitudeRef: 'N' } })
    .withMetadata({ orientation: 6 })
    .toBuffer();
  expect((await sharp(tagged).metadata()).exif).toBeDefined();
  expect(tagged.includes('SpyCam')).toBe(true);
  const { status, body } = await upload(cookie, { bytes: tagged, name: 'gps.jpg', type: 'image/jpeg' });
  expect(status).toBe(200);
  const stored = await readFile(path.join(app.storageVolume, body.user!.avatarUrl));
  const meta = await sharp(stored).metadata();
  expect(meta.exif).toBeUndefined();
  expect(meta.icc).toBeUndefined();
  expect(stored.includes('SpyCam')).toBe(false);
  // Orientation 6 is a quarter turn: the 400×200 picture is shown (and stored) 200 wide, 400 high.
  expect(meta.width! < meta.height!).toBe(true);
});

test('everyone online sees the new photo at once; the old file is removed; signing in again keeps it', async () => {
  const name = uniqueId('Ava');
  const owner = await signIn(app.url, name);
  const watcher: ChatClient = await connect(app.url, (await signIn(app.url, uniqueId('Watcher'))).cookie);
  const first = await upload(owner.cookie, { bytes: IMAGES.png!, name: 'a.png', type: 'image/png' });
  const updated = nextEvent(watcher, 'user:updated', (u) => u.id === owner.user.id);
  const second = await upload(owner.cookie, { bytes: IMAGES.gif!, name: 'b.gif', type: 'image/gif' });
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
  const { body } = await upload(cookie, { bytes: IMAGES.jpg!, name: 'x.jpg', type: 'image/jpeg' });
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
    const bytes = Buffer.concat([IMAGES.png!, Buffer.alloc(2 * 1024 * 1024)]);
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
    form.append('avatar', new Blob([IMAGES.png!]), 'a.png');
    form.append('avatar', new Blob([IMAGES.png!]), 'b.png');
    const res = await fetch(`${app.url}/api/avatar`, { method: 'POST', headers: { cookie }, body: form });
    expect(res.status).toBe(400);
  });

  test('a 20,000×20,000 PNG (a 48 kB picture bomb) is refused from its header with IMAGE_TOO_LARGE', async () => {
    const bomb = blackPng(20_000, 20_000);
    expect(bomb.length).toBeLessThan(100 * 1024);
    const { status, body } = await upload(cookie, { bytes: bomb, name: 'bomb.png', type: 'image/png' });
    expect(status).toBe(413);
    expect(body.error).toEqual({ code: 'IMAGE_TOO_LARGE', message: 'The photo is 20000×20000 pixels; at most 25 megapixels are accepted' });
  });

  test('a damaged image (right signature, garbage after it) is refused with IMAGE_UNREADABLE', async () => {
    const bytes = Buffer.concat([IMAGES.png!.subarray(0, 40), Buffer.alloc(200, 7)]);
    const { status, body } = await upload(cookie, { bytes, name: 'broken.png', type: 'image/png' });
    expect(status).toBe(400);
    expect(body.error?.code).toBe('IMAGE_UNREADABLE');
  });

  test('malformed multipart is 400 INVALID_PAYLOAD, not a server error', async () => {
    const res = await fetch(`${app.url}/api/avatar`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'multipart/form-data; boundary=xyz' },
      body: '--xyz\r\nContent-Disposition: form-data; name="avatar"; filename="a.png"\r\n\r\ntruncated',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_PAYLOAD');
  });

  test('not signed in', async () => {
    const form = new FormData();
    form.append('avatar', new Blob([IMAGES.png!]), 'a.png');
    const res = await fetch(`${app.url}/api/avatar`, { method: 'POST', body: form });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });
});

test('the avatars folder serves no dotfiles or directory listings', async () => {
  expect((await fetch(`${app.url}/avatars/`)).status).toBe(404);
  expect((await fetch(`${app.url}/avatars/..%2f..%2fpackage.json`)).status).toBe(404);
});

test('the volume quota: past AVATAR_QUOTA_MB uploads are refused with STORAGE_FULL', async () => {
  const small = await startServer({ env: { AVATAR_QUOTA_MB: '1' } });
  try {
    // Noise does not compress: each stored WebP is a few hundred kB.
    const noisy = await sharp(Buffer.from(Array.from({ length: 512 * 512 * 3 }, () => Math.floor(Math.random() * 256))), {
      raw: { width: 512, height: 512, channels: 3 },
    })
      .png()
      .toBuffer();
    const statuses: number[] = [];
    for (let i = 0; i < 12 && !statuses.includes(507); i++) {
      const { cookie } = await signIn(small.url, uniqueId('Full')); // each person's photo replaces only their own
      const form = new FormData();
      form.append('avatar', new Blob([noisy]), 'n.png');
      const res = await fetch(`${small.url}/api/avatar`, { method: 'POST', headers: { cookie }, body: form });
      statuses.push(res.status);
      if (res.status === 507) expect(((await res.json()) as { error: { code: string } }).error.code).toBe('STORAGE_FULL');
    }
    expect(statuses).toContain(507);
    expect(statuses[0]).toBe(200);
  } finally {
    await small.close();
  }
});
