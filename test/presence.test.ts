import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
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

const names = (p: { users: { name: string }[] }) => p.users.map((u) => u.name);

describe('presence', () => {
  test('joining shows everyone in the room, and the others learn of the newcomer', async () => {
    const alice = await person('Alice');
    const bob = await person('Bob');
    expectOk(await request(alice, 'room:join', { roomId }));
    const seen = nextEvent(alice, 'presence', (p) => p.count === 2);
    const joined = expectOk(await request(bob, 'room:join', { roomId }));
    expect(names(joined.presence)).toEqual(['Alice', 'Bob']);
    expect(await seen).toMatchObject({ roomId, count: 2 });
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

    const afterDisconnect = nextEvent(alice, 'presence', (p) => p.count === 2);
    bob.close();
    expect(names(await afterDisconnect)).toEqual(['Alice', 'Dave']);

    const { room: other } = expectOk(await request(dave, 'room:create', { name: uniqueId('other ') }));
    const afterSwitch = nextEvent(alice, 'presence', (p) => p.count === 1);
    expectOk(await request(dave, 'room:join', { roomId: other.id }));
    expect(names(await afterSwitch)).toEqual(['Alice']);
  });

  test('signing out removes the person from presence', async () => {
    const eve = await signIn(app.url, uniqueId('Eve'));
    const eveSocket = await connect(app.url, eve.cookie);
    open.push(eveSocket);
    const alice = await person('Alice');
    expectOk(await request(alice, 'room:join', { roomId }));
    expectOk(await request(eveSocket, 'room:join', { roomId }));
    const gone = nextEvent(alice, 'presence', (p) => p.count === 1);
    await fetch(`${app.url}/api/session`, { method: 'DELETE', headers: { cookie: eve.cookie } });
    expect(names(await gone)).toEqual(['Alice']);
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
