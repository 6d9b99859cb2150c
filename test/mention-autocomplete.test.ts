import { insertMention, matchPeople, mentionQueryAt } from '../src/client/mentions';

/** The message box's @ autocomplete (src/client/mentions.ts) without a page. */
const user = (id: string, name: string) => ({ id, name, avatarUrl: null });
const people = [user('me', 'Alice'), user('b', 'Bob'), user('c', 'Bobby Tables'), user('d', 'Ana Maria'), user('e', 'maria')];

test('an @ at the start or after a space starts a query up to the caret', () => {
  expect(mentionQueryAt('@', 1)).toEqual({ start: 0, query: '' });
  expect(mentionQueryAt('hi @bo', 6)).toEqual({ start: 3, query: 'bo' });
  expect(mentionQueryAt('hi @Ana Ma', 10)).toEqual({ start: 3, query: 'Ana Ma' }); // names hold spaces
  expect(mentionQueryAt('(@bo', 4)).toEqual({ start: 1, query: 'bo' });
});

test('no query inside a word, across lines, after "@ " or past a name length', () => {
  expect(mentionQueryAt('mail bob@example', 16)).toBeNull();
  expect(mentionQueryAt('@bob\nhi', 7)).toBeNull();
  expect(mentionQueryAt('@ bob', 5)).toBeNull();
  expect(mentionQueryAt('hello', 5)).toBeNull();
  expect(mentionQueryAt(`@${'x'.repeat(33)}`, 34)).toBeNull();
  // Only what is before the caret counts.
  expect(mentionQueryAt('@bob and more', 2)).toEqual({ start: 0, query: 'b' });
});

test('people whose name starts with the query come first, then those with a word that does; never yourself', () => {
  expect(matchPeople(people, 'bo', 'me').map((p) => p.name)).toEqual(['Bob', 'Bobby Tables']);
  expect(matchPeople(people, 'MAR', 'me').map((p) => p.name)).toEqual(['maria', 'Ana Maria']);
  expect(matchPeople(people, 'tab', 'me').map((p) => p.name)).toEqual(['Bobby Tables']);
  expect(matchPeople(people, '', 'me').map((p) => p.name)).toEqual(['Bob', 'Bobby Tables', 'Ana Maria', 'maria']);
  expect(matchPeople(people, 'ali', 'me')).toEqual([]);
  expect(matchPeople(people, '', 'me', 2)).toHaveLength(2);
});

test('picking a person replaces the typed @query with @Name and one space, the caret after it', () => {
  expect(insertMention('hi @bo', { start: 3, query: 'bo' }, 6, 'Bob')).toEqual({ text: 'hi @Bob ', caret: 8 });
  expect(insertMention('@an how are you', { start: 0, query: 'an' }, 3, 'Ana Maria')).toEqual({ text: '@Ana Maria how are you', caret: 11 });
});
