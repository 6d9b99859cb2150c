import { expectOk, request } from './helpers/client';
import { startServerWithPeople } from './helpers/server';

let chat: Awaited<ReturnType<typeof startServerWithPeople<'Rita'>>>;
let roomId: string;
beforeAll(async () => {
  chat = await startServerWithPeople(['Rita']);
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
