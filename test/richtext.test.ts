import { safeHref, segments } from '../src/client/richtext';

/** How message text is split into text, links and mentions before the page builds it (src/client/richtext.ts). */
const bob = { id: 'bob', name: 'Bob' };
const me = { id: 'me', name: 'Alice' };

test('http and https URLs become links; the text around them stays text', () => {
  expect(segments('see https://example.com/a?b=1. ok', [], 'me')).toEqual([
    { kind: 'text', text: 'see ' },
    { kind: 'link', text: 'https://example.com/a?b=1', href: 'https://example.com/a?b=1' },
    { kind: 'text', text: '. ok' },
  ]);
  expect(segments('HTTP://Example.COM', [], 'me')).toEqual([{ kind: 'link', text: 'HTTP://Example.COM', href: 'http://example.com/' }]);
});

test('no other scheme, bare domain, e-mail address or protocol-relative address becomes a link', () => {
  for (const text of [
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    'mailto:bob@example.com',
    'bob@example.com',
    'ftp://example.com/file',
    '//example.com/x',
    'example.com',
    'vbscript:msgbox(1)',
  ]) {
    expect(segments(text, [], 'me')).toEqual([{ kind: 'text', text }]);
  }
  expect(safeHref('javascript:alert(1)')).toBeNull();
  expect(safeHref('https://example.com/"><b>')).toBe('https://example.com/%22%3E%3Cb%3E');
});

test('HTML stays text', () => {
  expect(segments('<b>x</b><img src=x onerror=alert(1)>', [], 'me')).toEqual([{ kind: 'text', text: '<b>x</b><img src=x onerror=alert(1)>' }]);
});

test('mentions are found case-insensitively, marked when they are you, and only at a word start', () => {
  expect(segments('hi @bob and @ALICE, mail bob@x.org', [bob, me], 'me')).toEqual([
    { kind: 'text', text: 'hi ' },
    { kind: 'mention', text: '@bob', userId: 'bob', self: false },
    { kind: 'text', text: ' and ' },
    { kind: 'mention', text: '@ALICE', userId: 'me', self: true },
    { kind: 'text', text: ', mail bob@x.org' },
  ]);
  // "@Bobby" is not Bob; a name with spaces matches whole; the longer name wins.
  expect(segments('@Bobby @Ana Maria!', [bob, { id: 'ana', name: 'Ana Maria' }, { id: 'a', name: 'Ana' }], 'me')).toEqual([
    { kind: 'text', text: '@Bobby ' },
    { kind: 'mention', text: '@Ana Maria', userId: 'ana', self: false },
    { kind: 'text', text: '!' },
  ]);
});

test('a mention inside a link stays part of the link', () => {
  expect(segments('https://example.com/@bob @bob', [bob], 'me')).toEqual([
    { kind: 'link', text: 'https://example.com/@bob', href: 'https://example.com/@bob' },
    { kind: 'text', text: ' ' },
    { kind: 'mention', text: '@bob', userId: 'bob', self: false },
  ]);
});
