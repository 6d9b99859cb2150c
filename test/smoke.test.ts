import { connect, expectOk, nextEvent, request, signIn } from './helpers/client';
import { startServer, type TestServer } from './helpers/server';

let app: TestServer;
beforeAll(async () => {
  app = await startServer();
});
afterAll(() => app.close());

test('two people chat in general', async () => {
  const alice = await signIn(app.url, 'Alice');
  const bob = await signIn(app.url, 'Bob');
  const a = await connect(app.url, alice.cookie);
  const b = await connect(app.url, bob.cookie);
  const rooms = expectOk(await request(a, 'room:list'));
  const general = rooms.rooms.find((r) => r.name === 'general')!;
  expectOk(await request(a, 'room:join', { roomId: general.id }));
  expectOk(await request(b, 'room:join', { roomId: general.id }));
  const received = nextEvent(b, 'message');
  const sent = expectOk(await request(a, 'message:send', { roomId: general.id, text: 'hi' }));
  expect((await received).id).toBe(sent.message.id);
  a.close();
  b.close();
});
