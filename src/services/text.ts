import { ChatError } from './errors';

/**
 * Message text that renders as it was typed. Explicit direction controls (embeddings,
 * overrides, isolates: U+202A–U+202E, U+2066–U+2069) are removed, so `U+202E gpj.exe` cannot
 * show as `exe.jpg`; the page also lays out each message as its own paragraph
 * (`unicode-bidi: plaintext`), so right-to-left text still reads right. Runs of combining marks
 * are cut to MAX_MARKS_IN_A_ROW, so "Zalgo" text cannot cover the lines around it. A message
 * with nothing visible (spaces, zero-width characters, fillers, lone marks) is refused.
 */
export const MAX_MARKS_IN_A_ROW = 4;

const DIRECTION_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/gu;
const MARK_RUN = new RegExp(`(\\p{M}{${MAX_MARKS_IN_A_ROW}})\\p{M}+`, 'gu');
const INVISIBLE = /[\s\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\u2800\u3164\u115F\u1160\uFFA0]/gu;

export function cleanMessageText(raw: string): string {
  // Marks are counted decomposed (NFD): "é" is one letter and one mark, whichever way it was typed.
  const text = raw.replace(DIRECTION_CONTROLS, '').normalize('NFD').replace(MARK_RUN, '$1').normalize('NFC').trim();
  if (text.replace(INVISIBLE, '').length === 0) {
    throw new ChatError('MESSAGE_EMPTY', raw.trim().length === 0 ? 'Type a message first' : 'The message has no visible characters');
  }
  return text;
}
