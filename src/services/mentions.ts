import { LIMITS } from '../shared/protocol';
import { nameKey, type MentionRecord, type RoomRecord, type Store } from '../store/types';
import { normalizeName } from './names';

/** What a name is made of (src/services/names.ts), space aside: a mention's words. */
const NAME_CHAR = /[\p{L}\p{M}\p{N}._-]/u;
const HAS_BASE = /[\p{L}\p{N}]/u;
/** Names have at most this many words worth trying ("@Ana Maria de la Cruz"). */
const MAX_WORDS = 6;
/** `@`s looked at per message: bounds the one lookup a message costs. */
const MAX_ATS = 30;

/**
 * The names an `@` may start: its first word, its first two words… (names hold spaces), each
 * also without trailing `.`, `_` or `-` ("@bob." is bob at the end of a sentence). An `@` inside
 * a word (an e-mail address) starts none.
 */
export function mentionCandidates(text: string): string[][] {
  const chars = [...text];
  const found: string[][] = [];
  for (let i = 0; i < chars.length && found.length < MAX_ATS; i += 1) {
    if (chars[i] !== '@' || (i > 0 && (NAME_CHAR.test(chars[i - 1]!) || chars[i - 1] === '@'))) continue;
    const candidates: string[] = [];
    let current = '';
    let words = 0;
    for (let j = i + 1; j < chars.length && [...current].length <= LIMITS.nameMaxLength; j += 1) {
      const char = chars[j]!;
      if (NAME_CHAR.test(char)) {
        current += char;
        continue;
      }
      if (current.length === 0 || current.endsWith(' ')) break;
      candidates.push(current);
      if (char !== ' ' || ++words >= MAX_WORDS) break;
      current += ' ';
    }
    if (current.length > 0 && !current.endsWith(' ') && [...current].length <= LIMITS.nameMaxLength) candidates.push(current);
    const withTrimmed = candidates.flatMap((c) => [c, c.replace(/[._-]+$/, '')]).filter((c) => HAS_BASE.test(c));
    // Longest first: "@Ana Maria" names Ana Maria when both she and Ana exist.
    if (withTrimmed.length > 0) found.push([...new Set(withTrimmed)].sort((a, b) => b.length - a.length));
  }
  return found;
}

/**
 * The people a message mentions, in order, each once: an `@` followed by the name of someone
 * who may read the room (anyone for a public room, its two people for a direct one),
 * compared like names are (case, accents and lookalikes aside). One read per message that
 * has an `@`, none otherwise.
 */
export async function findMentions(store: Store, text: string, room: RoomRecord): Promise<MentionRecord[]> {
  const ats = mentionCandidates(text);
  if (ats.length === 0) return [];
  const keyOf = (candidate: string) => nameKey(normalizeName(candidate));
  const users = await store.users.findByNameKeys([...new Set(ats.flat().map(keyOf))]);
  const byKey = new Map(users.filter((u) => room.kind === 'public' || room.members.includes(u.id)).map((u) => [nameKey(u.name), u.id]));
  const mentions: MentionRecord[] = [];
  for (const candidates of ats) {
    const match = candidates.find((c) => byKey.has(keyOf(c)));
    if (!match) continue;
    const userId = byKey.get(keyOf(match))!;
    if (mentions.some((m) => m.userId === userId)) continue;
    mentions.push({ userId, text: match });
    if (mentions.length >= LIMITS.mentionsPerMessage) break;
  }
  return mentions;
}
