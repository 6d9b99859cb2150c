import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

/**
 * Direct conversations on one replica (test/privacy-cluster.test.ts does it across replicas and
 * brokers): opening one from a person's id, who may read it, and how it lists.
 */

let app: TestServer;
interface Person {
  id: string;
  name: string;
  cookie: string;
  socket: ChatClient;
}
const people: ChatClient[] = [];

async function person(name = uniqueId('P')): Promise<Person> {
  const { cookie, user } = await signIn(app.url, name);
  const socket = await connect(app.url, cookie);
  people.push(socket);
  return { ...user, cookie, socket };
}

beforeAll(async () => {
  app = await startServer({ env: { DM_RATE_LIMIT: '1000', MESSAGE_RATE_LIMIT: '1000' } });
});
afterAll(async () => {
  for (const socket of people) socket.close();
  await app.close();
});

describe('dm:open', () => {
  test('opens one conversation per pair, named after the other person, and tells the other person once', async () => {
    const ann = await person();
    const bo = await person();
    const told = nextEvent(bo.socket, 'dm:opened');
    const { room } = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id }));
    expect(room).toMatchObject({ kind: 'direct', name: bo.name, peer: { id: bo.id, name: bo.name }, headSeq: 0, headRev: 0 });
    expect(await told).toMatchObject({ id: room.id, kind: 'direct', name: ann.name, peer: { id: ann.id } });

    const notAgain = recordEvents(bo.socket, 'dm:opened');
    const fromBo = expectOk(await request(bo.socket, 'dm:open', { userId: ann.id }));
    const again = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id }));
    expect(fromBo.room.id).toBe(room.id);
    expect(again.room.id).toBe(room.id);
    // A public message sent after is the proof nothing else was on its way.
    await roundTrip(bo.socket);
    expect(notAgain).toEqual([]);
  });

  test('refuses yourself, unknown people and malformed ids with their own codes', async () => {
    const ann = await person();
    expect(await request(ann.socket, 'dm:open', { userId: ann.id })).toMatchObject({ ok: false, error: { code: 'INVALID_RECIPIENT' } });
    expect(await request(ann.socket, 'dm:open', { userId: 'aaaaaaaaaaaaaaaaaaaaaaaa' })).toMatchObject({ ok: false, error: { code: 'USER_NOT_FOUND' } });
    expect(await request(ann.socket, 'dm:open', { userId: 'nope' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(ann.socket, 'dm:open', { userId: ann.id, extra: 1 })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  });

  test('dm:list has your conversations only, newest first, and room:list never shows them', async () => {
    const ann = await person();
    const [bo, cy, dee] = [await person(), await person(), await person()];
    const withBo = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id })).room;
    const withCy = expectOk(await request(ann.socket, 'dm:open', { userId: cy.id })).room;
    expectOk(await request(bo.socket, 'dm:open', { userId: dee.id }));
    const { rooms } = expectOk(await request(ann.socket, 'dm:list', {}));
    expect(rooms.map((r) => [r.id, r.name])).toEqual([
      [withCy.id, cy.name],
      [withBo.id, bo.name],
    ]);
    expect(expectOk(await request(ann.socket, 'dm:list')).rooms).toHaveLength(2);
    const listed = expectOk(await request(ann.socket, 'room:list', { limit: 200 })).rooms;
    expect(listed.every((r) => r.kind === 'public' && r.peer === null)).toBe(true);
    expect(listed.map((r) => r.id)).not.toContain(withBo.id);
  });

  test('is rate limited per person', async () => {
    const limited = await startServer({ env: { DM_RATE_LIMIT: '2' } });
    try {
      const sockets: ChatClient[] = [];
      const users = [];
      for (const name of ['A', 'B', 'C', 'D']) {
        const { cookie, user } = await signIn(limited.url, `${name}${uniqueId()}`);
        sockets.push(await connect(limited.url, cookie));
        users.push(user);
      }
      expectOk(await request(sockets[0]!, 'dm:open', { userId: users[1]!.id }));
      expectOk(await request(sockets[0]!, 'dm:open', { userId: users[2]!.id }));
      expect(await request(sockets[0]!, 'dm:open', { userId: users[3]!.id })).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
      for (const socket of sockets) socket.close();
    } finally {
      await limited.close();
    }
  });
});

describe('only its two people can read a direct conversation', () => {
  test('a third person gets ROOM_NOT_FOUND for every read and write, as for a room that does not exist', async () => {
    const [ann, bo, eve] = [await person(), await person(), await person()];
    const { room } = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id }));
    expectOk(await request(ann.socket, 'room:join', { roomId: room.id }));
    const { message } = expectOk(await request(ann.socket, 'message:send', { roomId: room.id, text: 'just us' }));
    const refused = { ok: false, error: { code: 'ROOM_NOT_FOUND' } };
    const cursor = Buffer.from('seq:5').toString('base64url');
    expect(await request(eve.socket, 'room:join', { roomId: room.id })).toMatchObject(refused);
    expect(await request(eve.socket, 'room:join', { roomId: room.id, afterSeq: 0 })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:history', { roomId: room.id, before: cursor })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:since', { roomId: room.id, afterSeq: 0 })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:changes', { roomId: room.id, fromRev: 1 })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:react', { roomId: room.id, messageId: message.id, emoji: '👍', on: true })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:edit', { roomId: room.id, messageId: message.id, text: 'mine now' })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:delete', { roomId: room.id, messageId: message.id })).toMatchObject(refused);
    expect(await request(eve.socket, 'read:mark', { roomId: room.id, seq: 1 })).toMatchObject(refused);
    expect(await request(eve.socket, 'message:send', { roomId: room.id, text: 'hi' })).toMatchObject({ ok: false, error: { code: 'NOT_IN_ROOM' } });
    expect(expectOk(await request(eve.socket, 'dm:list', {})).rooms).toEqual([]);
    // Nothing was changed by the attempts.
    const [stored] = await app.store.messages.page(room.id, { limit: 1 });
    expect(stored).toMatchObject({ text: 'just us', rev: 0, reactions: [] });
  });

  test('its two people read the same history, page it, and see each other typing', async () => {
    const [ann, bo] = [await person(), await person()];
    const { room } = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id }));
    expectOk(await request(ann.socket, 'room:join', { roomId: room.id }));
    expectOk(await request(bo.socket, 'room:join', { roomId: room.id }));
    for (let i = 1; i <= 55; i += 1) expectOk(await request(ann.socket, 'message:send', { roomId: room.id, text: `m${i}` }));
    const atBo = nextEvent(bo.socket, 'typing');
    ann.socket.emit('typing', { roomId: room.id, typing: true });
    expect(await atBo).toMatchObject({ roomId: room.id, typing: true, user: { id: ann.id } });
    const joined = expectOk(await request(bo.socket, 'room:join', { roomId: room.id }));
    expect(joined.messages.map((m) => m.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 6));
    const older = expectOk(await request(bo.socket, 'message:history', { roomId: room.id, before: joined.nextCursor }));
    expect(older.messages.map((m) => m.text)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
    const since = expectOk(await request(bo.socket, 'message:since', { roomId: room.id, afterSeq: 53 }));
    expect(since.messages.map((m) => m.text)).toEqual(['m54', 'm55']);
  });
});

/** Every `event` this socket receives from now on. */
function recordEvents(socket: ChatClient, event: 'dm:opened'): unknown[] {
  const seen: unknown[] = [];
  socket.on(event, (payload) => seen.push(payload));
  return seen;
}

/** A request answered by the server after every event sent to this socket before it. */
async function roundTrip(socket: ChatClient) {
  expectOk(await request(socket, 'dm:list', {}));
}
