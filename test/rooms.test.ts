import { expectOk, nextEvent, request, type ChatClient } from './helpers/client';
import { startServerWithPeople } from './helpers/server';
import { createMemoryStore } from '../src/store/memory';
import { uniqueId } from './helpers/net';

let alice: ChatClient;
let bob: ChatClient;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ people: { Alice: alice, Bob: bob }, close } = await startServerWithPeople(['Alice', 'Bob'], { env: { ROOM_RATE_LIMIT: '1000' } }));
});
afterAll(() => close());

test('everyone starts with the default room "general"', async () => {
  const { rooms } = expectOk(await request(alice, 'room:list'));
  expect(rooms.map((r) => r.name)).toContain('general');
});

test('creating a room tells everyone online, and it appears in the list', async () => {
  const name = uniqueId('Project ');
  const announced = nextEvent(bob, 'room:created', (room) => room.name === name);
  const { room } = expectOk(await request(alice, 'room:create', { name: `  ${name} ` }));
  expect(room.name).toBe(name);
  expect((await announced).id).toBe(room.id);
  const { rooms } = expectOk(await request(bob, 'room:list'));
  expect(rooms.map((r) => r.id)).toContain(room.id);
});

test('room names are unique regardless of case', async () => {
  const name = uniqueId('Music');
  expectOk(await request(alice, 'room:create', { name }));
  const again = await request(bob, 'room:create', { name: name.toUpperCase() });
  expect(again).toEqual({ ok: false, error: { code: 'ROOM_NAME_TAKEN', message: expect.stringContaining('already exists') } });
});

test.each([
  [{ name: '' }, 'INVALID_ROOM_NAME'],
  [{ name: 'x'.repeat(41) }, 'INVALID_ROOM_NAME'],
  [{ name: 'a/b' }, 'INVALID_ROOM_NAME'],
  [{ name: 7 }, 'INVALID_PAYLOAD'],
  [{ name: 'ok', extra: true }, 'INVALID_PAYLOAD'],
  ['general', 'INVALID_PAYLOAD'],
])('refuses room:create %j with %s', async (payload, code) => {
  const ack = await request(alice, 'room:create', payload);
  expect(ack.ok).toBe(false);
  if (!ack.ok) expect(ack.error.code).toBe(code);
});

test('switching rooms moves you: messages of the old room stop arriving, the new room gets your presence', async () => {
  const { rooms } = expectOk(await request(alice, 'room:list'));
  const general = rooms.find((r) => r.name === 'general')!;
  const { room: other } = expectOk(await request(alice, 'room:create', { name: uniqueId('Side ') }));

  expectOk(await request(alice, 'room:join', { roomId: general.id }));
  expectOk(await request(bob, 'room:join', { roomId: general.id }));

  const joined = expectOk(await request(alice, 'room:join', { roomId: other.id }));
  expect(joined.room).toEqual(other);
  expect(joined.presence.users.map((u) => u.name)).toEqual(['Alice']);

  // Alice is no longer in general: Bob's message there reaches her only as the room's new head (for unread counts).
  const heads = nextEvent(alice, 'rooms:heads', (h) => h[general.id] !== undefined);
  let leaked = false;
  alice.on('message', () => (leaked = true));
  const sent = expectOk(await request(bob, 'message:send', { roomId: general.id, text: 'anyone?' })).message;
  expect((await heads)[general.id]).toBe(sent.seq);
  expect(leaked).toBe(false);
  alice.off('message');
});

test('of two quick joins the later wins, even when the earlier room loads more slowly', async () => {
  const store = createMemoryStore();
  const slow = await store.rooms.create('slow');
  const fast = await store.rooms.create('fast');
  const findById = store.rooms.findById.bind(store.rooms);
  let releaseSlow!: () => void;
  const slowLoaded = new Promise<void>((resolve) => (releaseSlow = resolve));
  store.rooms.findById = async (id) => {
    if (id === slow.id) await slowLoaded;
    return findById(id);
  };
  const { people, close: stop } = await startServerWithPeople(['Quick'], { store });
  try {
    const first = request(people.Quick, 'room:join', { roomId: slow.id });
    expectOk(await request(people.Quick, 'room:join', { roomId: fast.id }));
    releaseSlow();
    expect(await first).toMatchObject({ ok: false });
    expectOk(await request(people.Quick, 'message:send', { roomId: fast.id, text: 'I am in the fast room' }));
  } finally {
    await stop();
  }
});

test('joining a room that does not exist fails with ROOM_NOT_FOUND', async () => {
  const ack = await request(alice, 'room:join', { roomId: 'a'.repeat(24) });
  expect(ack).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
});
