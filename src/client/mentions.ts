import { LIMITS, type UserDTO } from '../shared/protocol';

/** What a name is made of besides spaces (as the server reads mentions): an `@` right after one is inside a word. */
const NAME_CHAR = /[\p{L}\p{M}\p{N}._-]/u;
/** Suggestions shown at once. */
export const MAX_SUGGESTIONS = 8;

/** An `@name` being typed: where its `@` is and what follows it up to the caret. */
export interface MentionQuery {
  /** Index of the `@` in the text. */
  start: number;
  /** What was typed after the `@` (may hold spaces: names do). */
  query: string;
}

/**
 * The `@` mention being typed at `caret`, if any: an `@` at the start or after something that
 * is not part of a word (not an e-mail address), followed by at most a name's length on the
 * same line.
 */
export function mentionQueryAt(text: string, caret: number): MentionQuery | null {
  const before = text.slice(0, caret);
  const start = before.lastIndexOf('@');
  if (start < 0) return null;
  const query = before.slice(start + 1);
  if (/[\n@]/.test(query) || [...query].length > LIMITS.nameMaxLength || query.startsWith(' ')) return null;
  const previous = before.slice(0, start);
  if (previous.length > 0 && NAME_CHAR.test([...previous].at(-1)!)) return null;
  return { start, query };
}

const fold = (text: string) => text.normalize('NFKC').toLocaleLowerCase();

/**
 * The people whose name fits what was typed, best first: names that start with it, then names
 * with a word that starts with it, each group in the order given. Yourself left out.
 */
export function matchPeople(people: readonly UserDTO[], query: string, meId: string, max = MAX_SUGGESTIONS): UserDTO[] {
  const wanted = fold(query);
  const others = people.filter((p) => p.id !== meId);
  const starts = others.filter((p) => fold(p.name).startsWith(wanted));
  const words = others.filter(
    (p) => !starts.includes(p) && fold(p.name).split(/[\s._-]+/).some((word) => word.startsWith(wanted)),
  );
  return [...starts, ...words].slice(0, max);
}

/** The text with the typed `@query` replaced by `@Name ` and where the caret goes after it. */
export function insertMention(text: string, at: MentionQuery, caret: number, name: string): { text: string; caret: number } {
  const inserted = `@${name} `;
  // One space after the name, also when the text already had one there.
  const after = text.slice(caret).replace(/^ /, '');
  return { text: text.slice(0, at.start) + inserted + after, caret: at.start + inserted.length };
}
