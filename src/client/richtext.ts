import { linkifyit } from 'linkify-it';
import type { MentionDTO } from '../shared/protocol';

/**
 * What a message's text is made of when shown: plain text, links and mentions. The page
 * builds each part with textContent (and an href that is an http(s) URL), so nothing in a
 * message is ever read as HTML.
 */
export type Segment =
  | { kind: 'text'; text: string }
  | { kind: 'link'; text: string; href: string }
  | { kind: 'mention'; text: string; userId: string; self: boolean };

/** Only URLs written with http:// or https:// become links: no bare domains, e-mail, ftp or protocol-relative ones. */
const linkify = linkifyit({ fuzzyLink: false, fuzzyEmail: false, fuzzyIP: false })
  .add('ftp:', null)
  .add('mailto:', null)
  .add('//', null);

const SAFE_PROTOCOLS = new Set(['http:', 'https:']);
/** A mention ends where the name does: not followed by more of a word. */
const WORD_CHAR = /[\p{L}\p{M}\p{N}]/u;
const NAME_CHAR = /[\p{L}\p{M}\p{N}._-]/u;

/** The link's address, if it is a well-formed http(s) URL. */
export function safeHref(url: string): string | null {
  try {
    const parsed = new URL(url);
    return SAFE_PROTOCOLS.has(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Splits a message's text into text, links (http and https only) and the mentions the server found in it. */
export function segments(text: string, mentions: readonly MentionDTO[], meId: string): Segment[] {
  const parts: Segment[] = [];
  let position = 0;
  for (const match of linkify.match(text) ?? []) {
    const href = safeHref(match.url);
    if (!href) continue;
    parts.push(...mentionSegments(text.slice(position, match.index), mentions, meId));
    parts.push({ kind: 'link', text: text.slice(match.index, match.lastIndex), href });
    position = match.lastIndex;
  }
  parts.push(...mentionSegments(text.slice(position), mentions, meId));
  return merged(parts);
}

/** Each `@name` of a mention (case aside), the longest name first where two fit. */
function mentionSegments(text: string, mentions: readonly MentionDTO[], meId: string): Segment[] {
  if (mentions.length === 0 || !text.includes('@')) return [{ kind: 'text', text }];
  const byLength = [...mentions].sort((a, b) => b.name.length - a.name.length);
  const parts: Segment[] = [];
  let plainFrom = 0;
  for (let i = text.indexOf('@'); i >= 0 && i < text.length; i = text.indexOf('@', i + 1)) {
    // An `@` inside a word (an e-mail address) starts no mention.
    const previous = [...text.slice(Math.max(0, i - 2), i)].at(-1);
    if (previous !== undefined && (NAME_CHAR.test(previous) || previous === '@')) continue;
    const found = byLength.find((mention) => {
      const written = text.slice(i + 1, i + 1 + mention.name.length);
      if (written.toLocaleLowerCase() !== mention.name.toLocaleLowerCase()) return false;
      const next = [...text.slice(i + 1 + mention.name.length)][0];
      return next === undefined || !WORD_CHAR.test(next);
    });
    if (!found) continue;
    const end = i + 1 + found.name.length;
    parts.push({ kind: 'text', text: text.slice(plainFrom, i) });
    parts.push({ kind: 'mention', text: text.slice(i, end), userId: found.id, self: found.id === meId });
    plainFrom = end;
    i = end - 1;
  }
  parts.push({ kind: 'text', text: text.slice(plainFrom) });
  return parts;
}

/** Without empty text parts, neighbouring text parts joined. */
function merged(parts: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const part of parts) {
    if (part.kind === 'text' && part.text.length === 0) continue;
    const last = out.at(-1);
    if (part.kind === 'text' && last?.kind === 'text') last.text += part.text;
    else out.push(part);
  }
  return out;
}
