import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import multer from 'multer';
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

/**
 * Profile photos on the shared volume (STORAGE_VOLUME/avatars). Files are
 * written under a temporary name and renamed, so a reader on another replica
 * never sees half a file.
 */
export function createAvatarStorage(storageVolume: string) {
  const directory = path.join(storageVolume, 'avatars');

  return {
    directory,

    /** multer, buffering one file in memory: 2 MB is small and nothing touches disk before it is checked. */
    parser: multer({
      storage: multer.memoryStorage(),
      limits: { fileSize: LIMITS.avatarMaxBytes, files: 1, fields: 5, parts: 6 },
    }).single('avatar'),

    async init() {
      await mkdir(directory, { recursive: true });
    },

    /** Checks and stores an upload; returns the new file's name. */
    async save(file: Express.Multer.File | undefined): Promise<string> {
      if (!file) throw new ChatError('FILE_MISSING', 'Choose a photo to upload (form field "avatar")');
      if (file.size === 0) throw new ChatError('FILE_EMPTY', 'The file is empty');
      const type = sniffImage(file.buffer);
      if (!type) throw new ChatError('UNSUPPORTED_FILE_TYPE', 'The photo must be a PNG, JPEG, GIF or WebP image');
      const name = `${randomBytes(16).toString('hex')}.${type.ext}`;
      const temporary = path.join(directory, `.${name}.tmp`);
      try {
        await writeFile(temporary, file.buffer, { flag: 'wx' });
        await rename(temporary, path.join(directory, name));
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
      return name;
    },

    /** Removes a stored photo; names come from our own records, but are checked anyway. */
    async remove(name: string | null) {
      if (!name || !/^[a-f0-9]{32}\.(png|jpg|gif|webp)$/.test(name)) return;
      await rm(path.join(directory, name), { force: true });
    },
  };
}

export type AvatarStorage = ReturnType<typeof createAvatarStorage>;
