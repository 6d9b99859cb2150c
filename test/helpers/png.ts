import { crc32, deflateSync } from 'node:zlib';

/** A PNG from raw scanlines (each with its filter byte), built here so the tests ship no binary fixtures. */
function encodePng(width: number, height: number, format: { bitDepth: number; colourType: number }, scanlines: Buffer): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([length, Buffer.from(type), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([format.bitDepth, format.colourType, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(scanlines, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small valid PNG of one colour (8-bit RGB). */
export function pngOf(width: number, height: number, [r, g, b]: [number, number, number]): Buffer {
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from([r, g, b]))]);
  return encodePng(width, height, { bitDepth: 8, colourType: 2 }, Buffer.concat(Array.from({ length: height }, () => row)));
}

/** A 1-bit black PNG of any size: its pixels deflate to almost nothing (a decompression bomb). */
export function blackPng(width: number, height: number): Buffer {
  return encodePng(width, height, { bitDepth: 1, colourType: 0 }, Buffer.alloc(height * (1 + Math.ceil(width / 8))));
}
