import { ChatError } from './errors';

/**
 * Message text that renders as it was typed. Direction controls (embeddings, overrides,
 * isolates, and the LRM/RLM/ALM marks: U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)
 * are removed, so `U+202E gpj.exe` cannot show as `exe.jpg`; the page also lays out each
 * message as its own paragraph (`unicode-bidi: plaintext`), so right-to-left text still reads
 * right. At most MAX_MARKS_ON_A_LETTER combining marks stay on one letter, so "Zalgo" text
 * cannot cover the lines around it. A message with nothing visible (spaces, zero-width
 * characters, fillers, lone marks) is refused.
 */
const MAX_MARKS_ON_A_LETTER = 4;

const DIRECTION_CONTROLS = /\p{Bidi_Control}/gu;
const MARK = /\p{M}/u;
/**
 * Drawn as nothing (U+2060, U+200B, U+FEFF, ZWJ, variation selectors, C0/C1 controls): never a
 * letter to put marks on. Tabs and line breaks move the next marks elsewhere, so they count as one.
 */
const DRAWN_AS_NOTHING = /(?![\t-\r])[\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]/u;
const INVISIBLE = /[\s\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{M}\u2800\u3164\u115F\u1160\uFFA0]/gu;

export function cleanMessageText(raw: string): string {
  // Marks are counted decomposed (NFD): "é" is one letter and one mark, whichever way it was typed.
  const text = capMarks(raw.replace(DIRECTION_CONTROLS, '').normalize('NFD')).normalize('NFC').trim();
  if (text.replace(INVISIBLE, '').length === 0) {
    throw new ChatError('MESSAGE_EMPTY', raw.trim().length === 0 ? 'Type a message first' : 'The message has no visible characters');
  }
  return text;
}

/**
 * Counts the marks stacked on each letter and drops those past the cap. Characters drawn as
 * nothing do not end the count: the marks after them stack on the same letter, so U+2060 every
 * 4 marks (or a ZWJ, which keeps them in one grapheme cluster) cannot build a tower. Counted per
 * letter rather than per grapheme cluster because a Devanagari conjunct is one cluster holding
 * a virama per consonant (कार्त्स्न्यं: 5 marks on 5 letters). Invisible marks (variation
 * selectors, U+034F) are not counted: they draw nothing. Invisible characters right before a
 * dropped mark go with it; the others stay (ZWJ in emoji sequences and Indic conjuncts, U+034F
 * between Hebrew vowels).
 */
function capMarks(text: string): string {
  let kept = '';
  let marks = 0;
  let invisible = '';
  for (const char of text) {
    if (DRAWN_AS_NOTHING.test(char)) {
      invisible += char;
      continue;
    }
    if (!MARK.test(char)) marks = 0;
    else if (++marks > MAX_MARKS_ON_A_LETTER) {
      invisible = '';
      continue;
    }
    kept += invisible + char;
    invisible = '';
  }
  return kept + invisible;
}
