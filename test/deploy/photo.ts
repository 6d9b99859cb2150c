import { crc32, deflateSync } from 'node:zlib';

/**
 * A real, decodable PNG (size×size, one colour), so an upload passes any re-encoding the server
 * may do, not only a check of the first bytes.
 */
export function pngPhoto(size = 16, rgb: [number, number, number] = [200, 60, 30]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB, no interlace
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3).map((_, i) => rgb[i % 3]!)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

/** Uploads `photo` as the signed-in person's avatar; resolves with the URL path the server gives it. */
export async function uploadPhoto(baseUrl: string, cookie: string, photo: Buffer): Promise<string> {
  const form = new FormData();
  form.append('avatar', new Blob([photo], { type: 'image/png' }), 'me.png');
  const res = await fetch(`${baseUrl}/api/avatar`, { method: 'POST', headers: { cookie }, body: form });
  const body = (await res.json()) as { user?: { avatarUrl: string }; error?: unknown };
  if (res.status !== 200 || !body.user) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body)}`);
  return body.user.avatarUrl;
}
