import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { startServerWithPeople, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';
import type { MessageDTO } from '../src/shared/protocol';

let app: TestServer;
let alice: ChatClient;
let bob: ChatClient;
let close: () => Promise<void>;
let roomId: string;

beforeAll(async () => {
  ({ app, people: { Alice: alice, Bob: bob }, close } = await startServerWithPeople(['Alice', 'Bob'], { env: { ROOM_RATE_LIMIT: '1000' } }));
});
afterAll(() => close());
beforeEach(async () => {
  ({ room: { id: roomId } } = expectOk(await request(alice, 'room:create', { name: uniqueId('room ') })));
  expectOk(await request(alice, 'room:join', { roomId }));
  expectOk(await request(bob, 'room:join', { roomId }));
});

describe('sending', () => {
  test('every member gets the message with id, author, avatar and server time; the ack carries the stored id', async () => {
    const atBob = nextEvent(bob, 'message');
    const atAlice = nextEvent(alice, 'message');
    const before = Date.now();
    const ack = expectOk(await request(alice, 'message:send', { roomId, text: '  hello Bob  ' }));
    const received = await atBob;
    expect(received).toEqual(ack.message);
    expect(await atAlice).toEqual(ack.message);
    expect(received).toMatchObject({ roomId, text: 'hello Bob', author: { name: 'Alice', avatarUrl: null } });
    expect(received.id).toMatch(/^[a-f0-9]{24}$/);
    expect(Date.parse(received.createdAt)).toBeGreaterThanOrEqual(before - 1000);
  });

  test('the message is stored before it is broadcast', async () => {
    const received = new Promise<boolean>((resolve) => {
      bob.once('message', async (message) => {
        const page = await app.store.messages.page(roomId, { limit: 1 });
        resolve(page[0]?.id === message.id);
      });
    });
    expectOk(await request(alice, 'message:send', { roomId, text: 'persisted first' }));
    expect(await received).toBe(true);
  });

  test('a retried send with the same clientId is stored once', async () => {
    const clientId = uniqueId('retry-');
    const first = expectOk(await request(alice, 'message:send', { roomId, text: 'once', clientId }));
    const second = expectOk(await request(alice, 'message:send', { roomId, text: 'once', clientId }));
    expect(second.message.id).toBe(first.message.id);
    const { messages } = expectOk(await request(bob, 'room:join', { roomId }));
    expect(messages.filter((m) => m.clientId === clientId)).toHaveLength(1);
  });

  test('a resend of a stored clientId gets the stored message back and is not broadcast again', async () => {
    const clientId = uniqueId('resend-');
    const live: MessageDTO[] = [];
    bob.on('message', (m) => live.push(m));
    const first = expectOk(await request(alice, 'message:send', { roomId, text: 'just once', clientId })).message;
    for (let i = 0; i < 3; i += 1) {
      expect(expectOk(await request(alice, 'message:send', { roomId, text: 'just once', clientId })).message).toEqual(first);
    }
    // A later message from the same sender arrives after anything sent before it.
    const marker = expectOk(await request(alice, 'message:send', { roomId, text: 'marker' })).message;
    if (!live.some((m) => m.id === marker.id)) await nextEvent(bob, 'message', (m) => m.id === marker.id);
    bob.off('message');
    expect(live.map((m) => m.text)).toEqual(['just once', 'marker']);
    expect(marker.seq).toBe(first.seq + 1);
  });

  test('messages carry the room\'s seq: 1, 2, 3… in the order they were stored', async () => {
    const sent = [];
    for (const text of ['one', 'two', 'three']) sent.push(expectOk(await request(alice, 'message:send', { roomId, text })).message);
    expect(sent.map((m) => m.seq)).toEqual([1, 2, 3]);
    const { messages, room } = expectOk(await request(bob, 'room:join', { roomId }));
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(room.headSeq).toBe(3);
  });

  test.each([
    ['blank text', { text: '   ' }, 'MESSAGE_EMPTY'],
    ['2001 characters', { text: 'x'.repeat(2001) }, 'MESSAGE_TOO_LONG'],
    ['a number as text', { text: 42 }, 'INVALID_PAYLOAD'],
    ['an unknown field', { text: 'hi', admin: true }, 'INVALID_PAYLOAD'],
    ['a malformed clientId', { text: 'hi', clientId: 'bad id!' }, 'INVALID_PAYLOAD'],
  ])('refuses %s with %s and stores nothing', async (_label, payload, code) => {
    const ack = await request(alice, 'message:send', { roomId, ...payload });
    expect(ack).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });
    expect(await app.store.messages.page(roomId, { limit: 10 })).toEqual([]);
  });

  test('a clientId already used in another room is refused', async () => {
    const clientId = uniqueId('reuse-');
    expectOk(await request(alice, 'message:send', { roomId, text: 'here', clientId }));
    const { room } = expectOk(await request(alice, 'room:create', { name: uniqueId('next ') }));
    expectOk(await request(alice, 'room:join', { roomId: room.id }));
    const ack = await request(alice, 'message:send', { roomId: room.id, text: 'there', clientId });
    expect(ack).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD', message: expect.stringContaining('another room') } });
  });

  test('2000 characters (counted as people count them) are accepted', async () => {
    const text = '😀'.repeat(2000);
    const { message } = expectOk(await request(alice, 'message:send', { roomId, text }));
    expect([...message.text]).toHaveLength(2000);
  });

  test('you can only send to the room you are in', async () => {
    const { room } = expectOk(await request(alice, 'room:create', { name: uniqueId('elsewhere ') }));
    const ack = await request(alice, 'message:send', { roomId: room.id, text: 'hi' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'NOT_IN_ROOM' } });
  });

  test('markup is stored and delivered as plain text, unchanged', async () => {
    const text = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const atBob = nextEvent(bob, 'message');
    expectOk(await request(alice, 'message:send', { roomId, text }));
    expect((await atBob).text).toBe(text);
  });

  test('an oversized socket payload closes that connection only; the server keeps serving', async () => {
    const hog = await connect(app.url, (await signIn(app.url, uniqueId('Hog'))).cookie);
    const closed = new Promise<string>((resolve) => hog.once('disconnect', resolve));
    hog.emit('message:send', { roomId, text: 'x'.repeat(100_000) }, () => {});
    expect(await closed).toBe('transport close');
    expect(await app.store.messages.page(roomId, { limit: 1 })).toEqual([]);
    expectOk(await request(alice, 'message:send', { roomId, text: 'still here' }));
  });

  test('a flood is cut off with RATE_LIMITED', async () => {
    const acks = await Promise.all(
      Array.from({ length: 25 }, (_, i) => request(bob, 'message:send', { roomId, text: `flood ${i}` })),
    );
    const limited = acks.filter((a) => !a.ok);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
  });
});

describe('history', () => {
  const send = async (n: number) => {
    const sent: MessageDTO[] = [];
    for (let i = 0; i < n; i += 1) {
      const [appended] = (await app.store.messages.append(roomId, [
        { authorId: (await app.store.users.findOrCreateByName('Alice')).id, text: `m${i}`, clientId: uniqueId('h-') },
      ]))!;
      sent.push({ id: appended!.record.id } as MessageDTO);
    }
    return sent;
  };

  test('entering a room gives the latest 50, oldest first, and a cursor for older ones', async () => {
    await send(120);
    const joined = expectOk(await request(bob, 'room:join', { roomId }));
    expect(joined.messages).toHaveLength(50);
    expect(joined.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${70 + i}`));
    expect(joined.nextCursor).toEqual(expect.any(String));

    const older = expectOk(await request(bob, 'message:history', { roomId, before: joined.nextCursor }));
    expect(older.messages.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `m${20 + i}`));
    const oldest = expectOk(await request(bob, 'message:history', { roomId, before: older.nextCursor, limit: 100 }));
    expect(oldest.messages.map((m) => m.text)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(oldest.nextCursor).toBeNull();
  });

  test('paging is stable while new messages arrive', async () => {
    await send(60);
    const joined = expectOk(await request(bob, 'room:join', { roomId }));
    expectOk(await request(alice, 'message:send', { roomId, text: 'newer' }));
    const older = expectOk(await request(bob, 'message:history', { roomId, before: joined.nextCursor }));
    expect(older.messages.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });

  test('message:since catches up from a seq, oldest first, page by page', async () => {
    await send(130);
    const first = expectOk(await request(bob, 'message:since', { roomId, afterSeq: 0 }));
    expect(first.messages.map((m) => m.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(first.complete).toBe(false);
    const rest = expectOk(await request(bob, 'message:since', { roomId, afterSeq: 100 }));
    expect(rest.messages.map((m) => m.text)).toEqual(Array.from({ length: 30 }, (_, i) => `m${100 + i}`));
    expect(rest.complete).toBe(true);
    expect(expectOk(await request(bob, 'message:since', { roomId, afterSeq: 125, limit: 2 })).messages.map((m) => m.seq)).toEqual([126, 127]);
    expect(expectOk(await request(bob, 'message:since', { roomId, afterSeq: 130 }))).toMatchObject({ messages: [], complete: true });
  });

  test('room:join with afterSeq answers what came after it instead of the latest page', async () => {
    await send(10);
    const joined = expectOk(await request(bob, 'room:join', { roomId, afterSeq: 7 }));
    expect(joined.messages.map((m) => m.text)).toEqual(['m7', 'm8', 'm9']);
    expect(joined).toMatchObject({ caughtUp: true, nextCursor: null });
  });

  test.each([
    [{ afterSeq: -1 }, 'INVALID_PAYLOAD'],
    [{ afterSeq: 1.5 }, 'INVALID_PAYLOAD'],
    [{ afterSeq: '3' }, 'INVALID_PAYLOAD'],
    [{ afterSeq: 0, limit: 101 }, 'INVALID_PAYLOAD'],
    [{ afterSeq: 0, roomId: 'f'.repeat(24) }, 'ROOM_NOT_FOUND'],
  ])('message:since refuses %j', async (payload, code) => {
    expect(await request(bob, 'message:since', { roomId, ...payload })).toMatchObject({ ok: false, error: { code } });
  });

  test.each([
    [{ before: 'not-a-cursor' }, 'INVALID_PAYLOAD'],
    [{ before: Buffer.from('1.zz').toString('base64url') }, 'INVALID_PAYLOAD'],
    [{ before: 'x', limit: 1000 }, 'INVALID_PAYLOAD'],
    [{ before: 'x', limit: 0 }, 'INVALID_PAYLOAD'],
  ])('refuses %j', async (payload, code) => {
    const ack = await request(bob, 'message:history', { roomId, ...payload });
    expect(ack).toMatchObject({ ok: false, error: { code } });
  });
});
