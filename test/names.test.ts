import { connect, expectOk, request, signIn } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';

let app: TestServer;
beforeAll(async () => {
  app = await startServer();
});
afterAll(() => app.close());

const signInAs = async (name: string) => {
  const res = await fetch(`${app.url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  return { status: res.status, body: (await res.json()) as { user?: { id: string; name: string }; error?: { code: string; message: string } } };
};

describe('names are unique by what they look like', () => {
  test('a Cyrillic lookalike of an existing name is refused with NAME_TAKEN, naming the original', async () => {
    const original = await signInAs('alice');
    for (const lookalike of ['\u0430lice', 'AIice', 'al\u0456ce']) {
      const { status, body } = await signInAs(lookalike);
      expect({ lookalike, status, code: body.error?.code }).toEqual({ lookalike, status: 409, code: 'NAME_TAKEN' });
      expect(body.error!.message).toContain('looks too much like “alice”');
    }
    // The same letters in another case or width are the same person, as before.
    expect((await signInAs('ＡＬＩＣＥ')).body.user!.id).toBe(original.body.user!.id);
    expect((await signInAs('Alice')).body.user!.id).toBe(original.body.user!.id);
  });

  test.each([
    ['a tab', 'Ann\tLee', 'may not contain tabs, line breaks or other control characters (U+0009)'],
    ['a line break', 'Ann\nLee', '(U+000A)'],
    ['a right-to-left override', 'gpj\u202Eexe', 'may not contain text-direction controls (U+202E)'],
    ['a zero-width space', 'Ann\u200BLee', 'may not contain invisible characters (U+200B)'],
    ['the Hangul filler alone', '\u3164', 'may not contain invisible characters (U+3164)'],
    ['a Hangul filler beside letters', 'Ann\u3164', '(U+3164)'],
    ['marks alone', '\u0301\u0301\u0301', 'needs at least one letter or digit'],
    ['a mark after a space', 'Ann \u0301', 'may not have accents or marks without a letter under them'],
    ['a stack of marks', 'Z\u0301\u0302\u0303\u0304', 'may not stack more than 3 accents or marks'],
    ['only punctuation', '._-', 'needs at least one letter or digit'],
  ])('a name with %s is refused with INVALID_NAME, saying why', async (_label, name, message) => {
    const { status, body } = await signInAs(name);
    expect(status).toBe(400);
    expect(body.error?.code).toBe('INVALID_NAME');
    expect(body.error?.message).toContain(message);
  });

  test('scripts that need marks still work: Vietnamese, Hindi, Arabic with vowel signs', async () => {
    for (const name of ['Nguyễn Thị', 'नमस्ते', 'مُحَمَّد']) expect((await signInAs(`${name} ${uniqueId('')}`)).status).toBe(201);
  });

  test('room names follow the same rules: lookalikes of a room are ROOM_NAME_TAKEN, invisible ones INVALID_ROOM_NAME', async () => {
    const socket = await connect(app.url, (await signIn(app.url, uniqueId('Host'))).cookie);
    const lookalike = await request(socket, 'room:create', { name: 'g\u0435neral' }); // Cyrillic е
    expect(lookalike).toMatchObject({ ok: false, error: { code: 'ROOM_NAME_TAKEN' } });
    for (const name of ['\u3164', 'a\tb', 'x\u202Ey', '\u0301']) {
      expect(await request(socket, 'room:create', { name })).toMatchObject({ ok: false, error: { code: 'INVALID_ROOM_NAME' } });
    }
    expectOk(await request(socket, 'room:create', { name: uniqueId('Café ') }));
    socket.close();
  });
});
