/**
 * The rules for names of people and rooms, beyond length: what may be in a name so that it
 * shows as what it is. Names are compared by skeleton (src/lib/skeleton.ts), so lookalikes
 * of an existing name are refused; these rules refuse what cannot be seen at all.
 */

const CONTROL = /\p{Cc}/u; // tabs, line breaks, NUL, DEL...
const BIDI_CONTROL = /\p{Bidi_Control}/u; // U+202E and friends: text shown in another order than typed
const INVISIBLE = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Co}\p{Cs}\p{Cn}]/u; // zero-width, fillers (U+3164), unassigned
const ALLOWED = /^[\p{L}\p{M}\p{N} ._-]+$/u;
const BASE = /[\p{L}\p{N}]/u;
/** Marks that follow a space, a punctuation sign or nothing: a name made of accents alone. */
const LOOSE_MARK = /(^|[^\p{L}\p{N}\p{M}])\p{M}/u;
/** Enough for any script's stacked vowels and tones, not for "Zalgo" text. */
export const MAX_MARKS_IN_A_ROW = 3;
const MARK_RUN = new RegExp(`\\p{M}{${MAX_MARKS_IN_A_ROW + 1}}`, 'u');

const codePoint = (char: string) => `U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Null when the raw input has no control, direction or invisible characters, else why not.
 * Checked before normalising, so the message names the character that was typed
 * (NFKC turns U+3164 into U+1160, another filler).
 */
export function characterProblem(raw: string, what: string): string | null {
  const control = CONTROL.exec(raw);
  if (control) return `${what} may not contain tabs, line breaks or other control characters (${codePoint(control[0])})`;
  const bidi = BIDI_CONTROL.exec(raw);
  if (bidi) return `${what} may not contain text-direction controls (${codePoint(bidi[0])})`;
  const invisible = INVISIBLE.exec(raw);
  if (invisible) return `${what} may not contain invisible characters (${codePoint(invisible[0])})`;
  return null;
}

/** Null when the normalised name is made of what a name may hold, else why not. */
export function shapeProblem(name: string, what: string): string | null {
  const again = characterProblem(name, what); // NFKC can make new ones: U+3164 becomes U+1160
  if (again) return again;
  if (!ALLOWED.test(name)) return `${what} may only contain letters, digits, spaces and . _ -`;
  if (!BASE.test(name)) return `${what} needs at least one letter or digit`;
  const decomposed = name.normalize('NFD');
  if (LOOSE_MARK.test(decomposed)) return `${what} may not have accents or marks without a letter under them`;
  if (MARK_RUN.test(decomposed)) return `${what} may not stack more than ${MAX_MARKS_IN_A_ROW} accents or marks on one letter`;
  return null;
}

/** NFKC (fullwidth and compatibility forms become plain ones), trimmed, runs of spaces made one. */
export function normalizeName(raw: string): string {
  return raw.normalize('NFKC').trim().replace(/ {2,}/g, ' ');
}
