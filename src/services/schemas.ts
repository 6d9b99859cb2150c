import { z } from 'zod';
import { LIMITS } from '../shared/protocol';

import { characterProblem, normalizeName, shapeProblem } from './names';

/** Length in characters as people count them (code points), not UTF-16 units. */
const length = (value: string) => [...value].length;

/** A person's or a room's name: see src/services/names.ts for what may be in one. */
const nameSchema = (what: string, empty: string, max: number) =>
  z
    .string({ message: empty })
    .superRefine((raw, context) => {
      const problem = characterProblem(raw, what);
      if (problem) context.addIssue({ code: 'custom', message: problem, abort: true });
    })
    .transform(normalizeName)
    .refine((v) => length(v) >= 1, empty)
    .refine((v) => length(v) <= max, `${what} has at most ${max} characters`)
    .superRefine((v, context) => {
      const problem = shapeProblem(v, what);
      if (problem) context.addIssue({ code: 'custom', message: problem });
    });

/** Display names: letters of any script, digits, space and . _ - */
export const displayName = nameSchema('A name', 'Enter a name', LIMITS.nameMaxLength);
export const roomName = nameSchema('A room name', 'Enter a room name', LIMITS.roomNameMaxLength);

const id = z.string().regex(/^[a-f0-9]{24}$/, 'an id');

/** Optional: clients that send only the acknowledgement get the first page. */
export const roomListPayload = z
  .strictObject({
    after: z.string().min(1).max(100).optional(),
    limit: z.number().int().min(1).max(LIMITS.roomMaxPageSize).optional(),
  })
  .optional();
export const createRoomPayload = z.strictObject({ name: z.string().max(200) });
const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const joinRoomPayload = z.strictObject({ roomId: id, afterSeq: seq.optional() });
export const sendMessagePayload = z.strictObject({
  roomId: id,
  text: z.string(), // length is checked by the service to answer MESSAGE_TOO_LONG
  clientId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, '8-64 letters, digits, _ or -')
    .optional(),
  /** This clientId may have been sent before (its ack was lost): look it up before numbering. */
  resend: z.boolean().optional(),
});
export const historyPayload = z.strictObject({
  roomId: id,
  before: z.string().min(1).max(200),
  limit: z.number().int().min(1).max(LIMITS.historyMaxPageSize).optional(),
});
export const sincePayload = z.strictObject({
  roomId: id,
  afterSeq: seq,
  limit: z.number().int().min(1).max(LIMITS.historyMaxPageSize).optional(),
});
export const typingPayload = z.strictObject({ roomId: id, typing: z.boolean() });
export const openDirectPayload = z.strictObject({ userId: id });
/** Requests that take only their acknowledgement (an empty object, or nothing, before it). */
export const noPayload = z.strictObject({}).optional();
export const changesPayload = z.strictObject({
  roomId: id,
  fromRev: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  limit: z.number().int().min(1).max(LIMITS.historyMaxPageSize).optional(),
});
export const editPayload = z.strictObject({ roomId: id, messageId: id, text: z.string() });
export const deletePayload = z.strictObject({ roomId: id, messageId: id });
export const reactPayload = z.strictObject({
  roomId: id,
  messageId: id,
  emoji: z.string().max(32), // checked by the service to answer INVALID_REACTION
  on: z.boolean(),
});
export const markReadPayload = z.strictObject({ roomId: id, seq });

export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Invalid input';
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${where}${issue.message}`;
}
