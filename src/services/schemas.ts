import { z } from 'zod';
import { LIMITS } from '../shared/protocol';

/** Length in characters as people count them (code points), not UTF-16 units. */
const length = (value: string) => [...value].length;

const NAME_PATTERN = /^[\p{L}\p{M}\p{N} ._-]+$/u;

/** Display names: letters of any script, digits, space and . _ - */
export const displayName = z
  .string({ message: 'Enter a name' })
  .transform((v) => v.normalize('NFC').trim().replace(/\s+/g, ' '))
  .refine((v) => length(v) >= 1, 'Enter a name')
  .refine((v) => length(v) <= LIMITS.nameMaxLength, `A name has at most ${LIMITS.nameMaxLength} characters`)
  .refine((v) => NAME_PATTERN.test(v), 'A name may only contain letters, digits, spaces and . _ -');

export const roomName = z
  .string({ message: 'Enter a room name' })
  .transform((v) => v.normalize('NFC').trim().replace(/\s+/g, ' '))
  .refine((v) => length(v) >= 1, 'Enter a room name')
  .refine(
    (v) => length(v) <= LIMITS.roomNameMaxLength,
    `A room name has at most ${LIMITS.roomNameMaxLength} characters`,
  )
  .refine((v) => NAME_PATTERN.test(v), 'A room name may only contain letters, digits, spaces and . _ -');

const id = z.string().regex(/^[a-f0-9]{24}$/, 'an id');

export const signInForm = z.strictObject({ name: z.string() }); // length and characters: displayName
export const createRoomPayload = z.strictObject({ name: z.string().max(200) });
export const joinRoomPayload = z.strictObject({ roomId: id });
export const sendMessagePayload = z.strictObject({
  roomId: id,
  text: z.string(), // length is checked by the service to answer MESSAGE_TOO_LONG
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, '8-64 letters, digits, _ or -')
    .optional(),
});
export const historyPayload = z.strictObject({
  roomId: id,
  before: z.string().min(1).max(200),
  limit: z.number().int().min(1).max(LIMITS.historyMaxPageSize).optional(),
});
export const typingPayload = z.strictObject({ roomId: id, typing: z.boolean() });

export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Invalid input';
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
