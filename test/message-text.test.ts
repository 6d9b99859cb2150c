import { cleanMessageText } from '../src/services/text';
import { expectOk, request } from './helpers/client';
import { startServerWithPeople } from './helpers/server';

let chat: Awaited<ReturnType<typeof startServerWithPeople<'Rita'>>>;
let roomId: string;
beforeAll(async () => {
  chat = await startServerWithPeople(['Rita'], { env: { MESSAGE_RATE_LIMIT: '1000' } }); // more sends than a person may make in 10 s
  roomId = expectOk(await request(chat.people.Rita, 'room:list')).rooms[0]!.id;
  expectOk(await request(chat.people.Rita, 'room:join', { roomId }));
});
afterAll(() => chat.close());

const send = (text: string) => request(chat.people.Rita, 'message:send', { roomId, text });

test('a right-to-left override cannot make gpj.exe show as exe.jpg: direction controls are removed', async () => {
  const { message } = expectOk(await send('invoice\u202Egpj.exe'));
  expect(message.text).toBe('invoicegpj.exe');
  for (const control of ['\u202A', '\u202B', '\u202C', '\u202D', '\u2066', '\u2067', '\u2068', '\u2069']) {
    expect(expectOk(await send(`a${control}b`)).message.text).toBe('ab');
  }
});

test('the LRM, RLM and ALM direction marks are removed too', async () => {
  for (const control of ['\u200E', '\u200F', '\u061C']) {
    expect(expectOk(await send(`a${control}b`)).message.text).toBe('ab');
  }
});

test('right-to-left writing itself is kept', async () => {
  expect(expectOk(await send('שלום עולם')).message.text).toBe('שלום עולם');
  expect(expectOk(await send('مرحبا بالعالم')).message.text).toBe('مرحبا بالعالم');
});

test('runs of combining marks are cut to 4; ordinary accents are untouched', async () => {
  const zalgo = `Z${'\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308'.repeat(20)}`;
  const { message } = expectOk(await send(zalgo));
  expect(message.text).toBe('Z\u0301\u0302\u0303\u0304'.normalize('NFC'));
  expect(expectOk(await send('Crème brûlée, Nguyễn')).message.text).toBe('Crème brûlée, Nguyễn');
});

test.each([
  ['zero-width spaces', '\u200B\u200B\u200B'],
  ['Hangul fillers', '\u3164\u3164'],
  ['Braille blanks', '\u2800\u2800'],
  ['marks with nothing under them', '\u0301\u0302'],
  ['direction controls and spaces', '\u202E \u202C'],
])('a message of only %s is refused with MESSAGE_EMPTY', async (_label, text) => {
  expect(await send(text)).toEqual({ ok: false, error: { code: 'MESSAGE_EMPTY', message: 'The message has no visible characters' } });
});

/** 160 marks on one letter, in groups of 4 split by `separator`: the tower of the Zalgo trick. */
const zalgo = (separator: string) => `Z${Array.from({ length: 40 }, () => '\u0301\u0302\u0303\u0304').join(separator)}!`;
const capped = 'Z\u0301\u0302\u0303\u0304!'.normalize('NFC');

test.each([
  ['word joiner U+2060', '\u2060'],
  ['zero-width space U+200B', '\u200B'],
  ['zero-width no-break space U+FEFF', '\uFEFF'],
  ['zero-width joiner U+200D', '\u200D'],
  ['zero-width non-joiner U+200C', '\u200C'],
  ['combining grapheme joiner U+034F', '\u034F'],
  ['soft hyphen U+00AD', '\u00AD'],
  ['a control character U+0001', '\u0001'],
  ['an LRM and a word joiner', '\u200E\u2060'],
])('invisible characters between groups of marks do not reset the cap: %s', (_label, separator) => {
  expect(cleanMessageText(zalgo(separator))).toBe(capped);
});

test('the direction marks are removed: LRM, RLM, ALM', () => {
  expect(cleanMessageText('a\u200Eb\u200Fc\u061Cd')).toBe('abcd');
});

test.each([
  ['an emoji ZWJ family', '👩\u200D👩\u200D👧'],
  ['a ZWJ sequence with variation selectors', '🏳\uFE0F\u200D⚧\uFE0F'],
  ['a keycap', '1\uFE0F\u20E3'],
  ['an emoji with VS16 and a skin tone', '❤\uFE0F 👍🏽'],
  ['a tag-sequence flag', '🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}'],
  ['Vietnamese', 'Nguyễn Việt Thắng ở đâu?'],
  ['Hindi', 'स्त्रियों का राष्ट्रीय उज्ज्वल भविष्य'],
  ['a Sanskrit conjunct (5 marks in one grapheme cluster)', 'कार्त्स्न्यं'],
  ['Bengali with ZWJ before a virama', 'র\u200D্যাব'],
  ['Persian with ZWNJ', 'می\u200Cخواهم'],
  ['Arabic with shadda and vowels', 'مُحَمَّدٌ'],
  ['Hebrew with points, a CGJ between two vowels', 'יְרוּשָׁלַ\u034Fִם'],
  ['Thai with tone marks', 'น้ำใจ ที่นี่'],
  ['Tibetan stacks', 'བསྒྲུབས ཧཱུྃ'],
])('legitimate text is kept as typed: %s', (_label, text) => {
  expect(cleanMessageText(text)).toBe(text.normalize('NFC'));
});

test('through a real send: a word-joined Zalgo tower is cut to 4 marks, direction marks are removed', async () => {
  expect(expectOk(await send(`\u200F${zalgo('\u2060')}`)).message.text).toBe(capped);
  expect(expectOk(await send('👩\u200D👩\u200D👧 नमस्ते')).message.text).toBe('👩\u200D👩\u200D👧 नमस्ते');
});
