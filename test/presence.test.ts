import { connect, expectOk, nextEvent, presenceNames, request, signIn, trackPresence, type ChatClient } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';
import { uniqueId } from './helpers/net';

let app: TestServer;
let roomId: string;
const open: ChatClient[] = [];

async function person(name: string) {
  const socket = await connect(app.url, (await signIn(app.url, name)).cookie);
  open.push(socket);
  return socket;
}

beforeAll(async () => {
  app = await startServer({ env: { ROOM_RATE_LIMIT: '1000' } });
});
afterAll(() => app.close());
beforeEach(async () => {
  const creator = await person(uniqueId('Creator'));
  ({ room: { id: roomId } } = expectOk(await request(creator, 'room:create', { name: uniqueId('room ') })));
  creator.close();
});
afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

describe('presence', () => {
  test('joining shows everyone in the room, and the others get only the newcomer', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    const aliceIn = nextEvent(alice, 'presence:delta');
    expectOk(await request(alice, 'room:join', { roomId }));
    expect(await aliceIn).toMatchObject({ joined: [{ name: 'Alice' }], count: 1 });
    const delta = nextEvent(alice, 'presence:delta');
    const joined = expectOk(await request(bob, 'room:join', { roomId }));
    expect(presenceNames(joined.presence)).toEqual(['Alice', 'Bob']);
    expect(joined.presence.users[0]!.name).toBe('Bob'); // yourself first
    expect(await delta).toEqual({ roomId, joined: [expect.objectContaining({ name: 'Bob' })], left: [], count: 2 });
  });

  test('joining the room you are in again changes nothing for anyone', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    expectOk(await request(alice, 'room:join', { roomId }));
    expectOk(await request(bob, 'room:join', { roomId }));
    await nextEvent(alice, 'presence:delta', (d) => d.count === 2);
    let deltas = 0;
    alice.on('presence:delta', () => (deltas += 1));
    for (let i = 0; i < 20; i += 1) expect(expectOk(await request(bob, 'room:join', { roomId })).presence.count).toBe(2);
    // A change after the re-joins is the first delta Alice gets: the re-joins sent none.
    const carol = await person('Carol');
    const next = nextEvent(alice, 'presence:delta');
    expectOk(await request(carol, 'room:join', { roomId }));
    expect(await next).toMatchObject({ joined: [{ name: 'Carol' }], left: [], count: 3 });
    expect(deltas).toBe(1);
  });

  test('a burst of joins reaches the people in the room as a few coalesced deltas', async () => {
    const alice = await person('Alice');
    const view = trackPresence(alice, expectOk(await request(alice, 'room:join', { roomId })).presence);
    let deltas = 0;
    alice.on('presence:delta', () => (deltas += 1));
    const crowd = await Promise.all(Array.from({ length: 30 }, (_, i) => person(uniqueId(`P${i}-`))));
    await Promise.all(crowd.map((s) => request(s, 'room:join', { roomId })));
    await view.until((p) => p.count === 31);
    expect(view.current.users).toHaveLength(31);
    expect(deltas).toBeLessThan(30);
  });

  test('one person with two tabs counts once', async () => {
    const tab1 = await person('Carol');
    const tab2 = await person('Carol');
    expectOk(await request(tab1, 'room:join', { roomId }));
    const joined = expectOk(await request(tab2, 'room:join', { roomId }));
    expect(joined.presence).toMatchObject({ count: 1, users: [{ name: 'Carol' }] });
  });

  test('disconnecting, switching rooms and signing out update the others live', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    const dave = await person('Dave');
    for (const s of [alice, bob, dave]) expectOk(await request(s, 'room:join', { roomId }));

    const view = trackPresence(alice, expectOk(await request(alice, 'room:join', { roomId })).presence);
    await view.until((p) => p.count === 3);

    bob.close();
    expect(presenceNames(await view.until((p) => p.count === 2))).toEqual(['Alice', 'Dave']);

    const { room: other } = expectOk(await request(dave, 'room:create', { name: uniqueId('other ') }));
    expectOk(await request(dave, 'room:join', { roomId: other.id }));
    expect(presenceNames(await view.until((p) => p.count === 1))).toEqual(['Alice']);
  });

  test('signing out removes the person from presence', async () => {
    const eve = await signIn(app.url, uniqueId('Eve'));
    const eveSocket = await connect(app.url, eve.cookie);
    open.push(eveSocket);
    const alice = await person('Alice');
    const view = trackPresence(alice, expectOk(await request(alice, 'room:join', { roomId })).presence);
    expectOk(await request(eveSocket, 'room:join', { roomId }));
    await view.until((p) => p.count === 2);
    await fetch(`${app.url}/api/session`, { method: 'DELETE', headers: { cookie: eve.cookie } });
    expect(presenceNames(await view.until((p) => p.count === 1))).toEqual(['Alice']);
  });
});

describe('typing indicator', () => {
  test('the others see who is typing, and when they stop; the typist does not', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    expectOk(await request(alice, 'room:join', { roomId }));
    expectOk(await request(bob, 'room:join', { roomId }));

    let echoed = false;
    alice.on('typing', () => (echoed = true));
    const started = nextEvent(bob, 'typing');
    alice.emit('typing', { roomId, typing: true });
    expect(await started).toMatchObject({ roomId, typing: true, user: { name: 'Alice' } });

    const stopped = nextEvent(bob, 'typing', (t) => !t.typing);
    alice.emit('typing', { roomId, typing: false });
    expect((await stopped).user.name).toBe('Alice');
    // A round trip after the typing events: had Alice been sent her own, it would have arrived by now.
    expectOk(await request(alice, 'room:list'));
    expect(echoed).toBe(false);
  });

  test('typing in a room you are not in, or a malformed event, is ignored', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    expectOk(await request(bob, 'room:join', { roomId }));
    let received = 0;
    bob.on('typing', () => (received += 1));
    alice.emit('typing', { roomId, typing: true });
    (alice.emit as (...args: unknown[]) => void)('typing', { roomId, typing: 'yes' });
    (alice.emit as (...args: unknown[]) => void)('typing', null);
    expectOk(await request(alice, 'room:join', { roomId }));
    alice.emit('typing', { roomId, typing: true });
    await nextEvent(bob, 'typing');
    expect(received).toBe(1);
  });
});
