import { reactionChips, reactionTitle, toggledOn } from '../src/client/reactions';
import type { ReactionDTO } from '../src/shared/protocol';

/** Reaction chips as the page shows them (src/client/reactions.ts). */
const users = (...names: string[]) => names.map((name) => ({ id: name.toLowerCase(), name }));
const thumbs: ReactionDTO = { emoji: '👍', count: 2, users: users('Alice', 'Bob') };
const party: ReactionDTO = { emoji: '🎉', count: 25, users: users('Carol', 'Dan') };

test('the title lists who reacted, and how many more than the server named', () => {
  expect(reactionTitle({ emoji: '👍', count: 1, users: users('Alice') })).toBe('Alice');
  expect(reactionTitle(thumbs)).toBe('Alice and Bob');
  expect(reactionTitle({ emoji: '👍', count: 3, users: users('Alice', 'Bob', 'Carol') })).toBe('Alice, Bob and Carol');
  expect(reactionTitle(party)).toBe('Carol, Dan and 23 others');
  expect(reactionTitle({ emoji: '👍', count: 2, users: users('Alice') })).toBe('Alice and 1 other');
});

test('chips keep the server order, count everyone, and know whether you reacted', () => {
  expect(reactionChips([thumbs, party, { emoji: '😢', count: 0, users: [] }], 'bob')).toEqual([
    { emoji: '👍', count: 2, mine: true, title: 'Alice and Bob' },
    { emoji: '🎉', count: 25, mine: false, title: 'Carol, Dan and 23 others' },
  ]);
});

test('a click adds your reaction, or takes it back when you had it', () => {
  expect(toggledOn([thumbs], '👍', 'bob')).toBe(false);
  expect(toggledOn([thumbs], '👍', 'carol')).toBe(true);
  expect(toggledOn([thumbs], '🎉', 'bob')).toBe(true);
});
