import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import multer from 'multer';
import sharp from 'sharp';
import { LIMITS } from '../shared/protocol';
import { ChatError } from '../services/errors';

/** The four image types we accept, recognised by their first bytes. */
const SIGNATURES: { ext: string; mime: string; matches: (b: Buffer) => boolean }[] = [
  { ext: 'png', mime: 'image/png', matches: (b) => b.subarray(0, 8).equals(Buffer.from('89504e470d0a1a0a', 'hex')) },
  { ext: 'jpg', mime: 'image/jpeg', matches: (b) => b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { ext: 'gif', mime: 'image/gif', matches: (b) => /^GIF8[79]a$/.test(b.subarray(0, 6).toString('latin1')) },
  {
    ext: 'webp',
    mime: 'image/webp',
    matches: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
];

/** Detects the image type from the content; the file name and declared type are not trusted. */
export function sniffImage(bytes: Buffer): { ext: string; mime: string } | null {
  const found = SIGNATURES.find((s) => s.matches(bytes));
  return found ? { ext: found.ext, mime: found.mime } : null;
}

/** How old the volume's measured size may be before the next upload measures it again. */
const USAGE_RESCAN_MS = 10_000;

/**
 * Profile photos on the shared volume (STORAGE_VOLUME/avatars). Every upload is decoded and
 * re-encoded by libvips (sharp): a picture bomb is refused from its header before decoding,
 * the stored file is a small WebP of at most 512×512 with no metadata (EXIF, GPS, ICC text),
 * and whatever else the upload carried is gone. Files are written under a temporary name and
 * renamed, so a reader on another replica never sees half a file.
 */
export function createAvatarStorage(storageVolume: string, options: { quotaBytes: number }) {
  const directory = path.join(storageVolume, 'avatars');
  // Replicas share the volume: usage is re-measured from the disk, plus what this one wrote since.
  let usage = { bytes: 0, measuredAt: 0 };

  const measure = async () => {
    if (Date.now() - usage.measuredAt < USAGE_RESCAN_MS) return usage.bytes;
    const names = await readdir(directory);
    const sizes = await Promise.all(names.map((name) => stat(path.join(directory, name)).then((s) => s.size, () => 0)));
    usage = { bytes: sizes.reduce((a, b) => a + b, 0), measuredAt: Date.now() };
    return usage.bytes;
  };

  const parser = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: LIMITS.avatarMaxBytes, files: 1, fields: 5, parts: 6 },
  }).single('avatar');

  return {
    directory,

    /** multer, buffering one file in memory: 2 MB is small and nothing touches disk before it is checked. */
    parser,

    async init() {
      await mkdir(directory, { recursive: true });
    },

    /** Checks, re-encodes and stores an upload; returns the new file's name. */
    async save(file: Express.Multer.File | undefined): Promise<string> {
      if (!file) throw new ChatError('FILE_MISSING', 'Choose a photo to upload (form field "avatar")');
      if (file.size === 0) throw new ChatError('FILE_EMPTY', 'The file is empty');
      if (!sniffImage(file.buffer)) {
        throw new ChatError('UNSUPPORTED_FILE_TYPE', 'The photo must be a PNG, JPEG, GIF or WebP image');
      }
      const webp = await reencode(file.buffer);
      if ((await measure()) + webp.length > options.quotaBytes) {
        throw new ChatError('STORAGE_FULL', 'The photo storage is full; try again later or ask the operator');
      }
      const name = `${randomBytes(16).toString('hex')}.webp`;
      const temporary = path.join(directory, `.${name}.tmp`);
      try {
        await writeFile(temporary, webp, { flag: 'wx' });
        await rename(temporary, path.join(directory, name));
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      usage.bytes += webp.length;
      return name;
    },

    /** Removes a stored photo; names come from our own records, but are checked anyway. */
    async remove(name: string | null) {
      if (!name || !/^[a-f0-9]{32}\.(png|jpg|gif|webp)$/.test(name)) return;
      const file = path.join(directory, name);
      const size = await stat(file).then((s) => s.size, () => 0);
      await rm(file, { force: true });
      usage.bytes = Math.max(0, usage.bytes - size);
    },
  };
}

async function reencode(bytes: Buffer): Promise<Buffer> {
  // The header says how big the picture is: refuse a bomb before any pixel is decoded.
  // (metadata() reads the header only; sharp's own default limit would hide the size in an error)
  const { width, height } = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => ({ width: undefined, height: undefined }));
  if (!width || !height) throw new ChatError('IMAGE_UNREADABLE', 'The photo could not be read: the file is damaged or not an image');
  if (width * height > LIMITS.avatarMaxPixels) {
    throw new ChatError(
      'IMAGE_TOO_LARGE',
      `The photo is ${width}×${height} pixels; at most ${LIMITS.avatarMaxPixels / 1_000_000} megapixels are accepted`,
    );
  }
  try {
    // limitInputPixels again, in case the header lied; the first frame of an animation only.
    return await sharp(bytes, { limitInputPixels: LIMITS.avatarMaxPixels, failOn: 'error' })
      .rotate() // apply the EXIF orientation before the metadata goes
      .resize(LIMITS.avatarSize, LIMITS.avatarSize, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer(); // sharp writes no metadata unless asked (withMetadata)
  } catch {
    throw new ChatError('IMAGE_UNREADABLE', 'The photo could not be read: the file is damaged or not an image');
  }
}

export type AvatarStorage = ReturnType<typeof createAvatarStorage>;
