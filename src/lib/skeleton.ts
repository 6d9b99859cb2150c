import unhomoglyph from 'unhomoglyph';

/**
 * The comparison key of a name: two names with the same skeleton look alike, so only one of
 * them may exist. UTS #39's skeleton (NFD, the confusables mapping, NFD) on the NFKC form,
 * case-folded: `аlice` (Cyrillic а), `ａｌｉｃｅ` (fullwidth), `ALICE` and `AIice` (capital I)
 * all meet `alice`. The mapping is unhomoglyph's copy of Unicode's confusables.txt. It runs
 * before and after lower-casing, and `i` then folds into `l`, because names are compared
 * without case while a capital and its small letter map differently (`I` looks like `l`,
 * so `ALICE` must meet `alice` through `allce`).
 */
export function skeleton(name: string): string {
  const mapped = unhomoglyph(name.normalize('NFKC').normalize('NFD'));
  return unhomoglyph(mapped.toLocaleLowerCase('und').normalize('NFD')).replace(/i/g, 'l').normalize('NFD');
}
