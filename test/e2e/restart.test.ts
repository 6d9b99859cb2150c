import { connect, expectOk, request, signIn as signInOverHttp } from '../helpers/client';
import { connected, messageText, noLonger, screenshot, see, signIn, startCluster, type Cluster, useDatabaseAndBrowser } from './helpers';

// Restarting or killing a replica: the page must reconnect by itself and lose nothing.
jest.setTimeout(120_000);

const shared = useDatabaseAndBrowser();

describe.each([
  { broker: 'redis', how: 'stop' },
  { broker: 'rabbitmq', how: 'kill' },
] as const)('over $broker', ({ broker, how }) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(shared.ferret, broker);
  });
  afterAll(() => cluster?.close());

  test(`Bob's replica is ${how === 'stop' ? 'stopped' : 'killed'} and restarted: his page reconnects and nothing is missing`, async () => {
    const [first, second] = cluster.replicas;
    const alice = await signIn(shared.browser, first, 'Alice');
    const bob = await signIn(shared.browser, second, 'Bob');
    await alice.say('Before the restart, from Alice');
    await see(messageText(bob.page, 'Before the restart, from Alice'));
    await bob.say('Before the restart, from Bob');
    await see(messageText(alice.page, 'Before the restart, from Bob'));

    await second[how]();
    await see(bob.page.locator('#connection').getByText('Reconnecting…'));
    // Typed while the replica is down: it waits in the page's outbox.
    await bob.page.getByLabel('Message', { exact: true }).fill('Typed while my server was down');
    await bob.page.getByLabel('Message', { exact: true }).press('Enter');
    await see(bob.page.locator('#message-list .message.pending').getByText('Typed while my server was down'));
    await alice.say('Sent while Bob was away');
    await screenshot(bob.page, `reconnecting-${broker}`);

    await second.start();
    await connected(bob.page, 30_000);
    await see(messageText(bob.page, 'Sent while Bob was away'));
    await see(messageText(alice.page, 'Typed while my server was down'));
    await noLonger(bob.page.locator('#message-list .message.pending'));

    await alice.say('After the restart');
    await see(messageText(bob.page, 'After the restart'));
    await bob.say('Still here');
    await see(messageText(alice.page, 'Still here'));

    const expected = [
      'Before the restart, from Alice',
      'Before the restart, from Bob',
      'Sent while Bob was away',
      'Typed while my server was down',
      'After the restart',
      'Still here',
    ];
    expect(await bob.messages()).toEqual(expected);
    expect(await alice.messages()).toEqual(expected);
    await alice.close();
    await bob.close();
  });
});

describe('more than a page arrives while a replica is down', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(shared.ferret, 'redis', { env: { MESSAGE_RATE_LIMIT: '1000' } });
  });
  afterAll(() => cluster?.close());

  test('after reconnecting, the page pages back until it has every message it missed', async () => {
    const [first, second] = cluster.replicas;
    const bob = await signIn(shared.browser, second, 'Bob');
    await bob.say('Last one I saw live');

    await second.stop();
    await see(bob.page.locator('#connection').getByText('Reconnecting…'));
    // Alice, a script on the other replica, sends more than one page (50) of history meanwhile.
    const alice = await connect(first.url, (await signInOverHttp(first.url, 'Alice')).cookie);
    const { rooms } = expectOk(await request(alice, 'room:list'));
    const roomId = rooms.find((r) => r.name === 'general')!.id;
    expectOk(await request(alice, 'room:join', { roomId }));
    const missed = Array.from({ length: 75 }, (_, i) => `missed ${i + 1}`);
    for (const text of missed) expectOk(await request(alice, 'message:send', { roomId, text }));
    alice.close();

    await second.start();
    await connected(bob.page, 30_000);
    await see(messageText(bob.page, 'missed 75'));
    await see(messageText(bob.page, 'missed 1'));
    expect(await bob.messages()).toEqual(['Last one I saw live', ...missed]);
    await bob.close();
  });
});
