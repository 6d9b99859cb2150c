import { messageText, noLonger, see, signIn, startCluster, type Cluster, useDatabaseAndBrowser } from './helpers';

// The same two-person conversation across two replicas, over the other brokers.
jest.setTimeout(90_000);

const shared = useDatabaseAndBrowser();

describe.each(['rabbitmq', 'nats'] as const)('over %s', (broker) => {
  let cluster: Cluster;
  beforeAll(async () => {
    // A low limit, so that a refused message is quick to provoke.
    cluster = await startCluster(shared.ferret, broker, { env: { MESSAGE_RATE_LIMIT: '3' } });
  });
  afterAll(() => cluster?.close());

  test('two people on different replicas chat, see each other typing and online', async () => {
    const [first, second] = cluster.replicas;
    const alice = await signIn(shared.browser, first, 'Alice');
    const bob = await signIn(shared.browser, second, 'Bob');
    await see(bob.page.locator('#server-badge').getByText(broker));

    await see(alice.page.locator('#presence-list').getByText('Bob', { exact: true }));
    await see(bob.page.locator('#presence-list').getByText('Alice', { exact: true }));

    await alice.say(`Hello over ${broker}`);
    await see(messageText(bob.page, `Hello over ${broker}`));
    await bob.page.getByLabel('Message', { exact: true }).pressSequentially('Hi Alice');
    await see(alice.page.locator('#typing').getByText('Bob is typing…'));
    await bob.page.getByLabel('Message', { exact: true }).press('Enter');
    await see(messageText(alice.page, 'Hi Alice'));
    await noLonger(alice.page.locator('#typing').getByText('Bob is typing…'));

    await bob.close();
    await noLonger(alice.page.locator('#presence-list').getByText('Bob', { exact: true }));
    await alice.close();
  });

  test('a message the server refuses says why, and can be discarded', async () => {
    const cleo = await signIn(shared.browser, cluster.replicas[0], 'Cleo');
    const box = cleo.page.getByLabel('Message', { exact: true });
    for (const text of ['one', 'two', 'three', 'four']) {
      await box.fill(text);
      await box.press('Enter');
    }
    const refused = cleo.page.locator('#message-list .message.failed');
    await see(refused.getByText('Not sent: You are sending too fast, slow down'));
    await see(refused.getByText('four', { exact: true }));
    const alert = cleo.page.getByRole('alert').getByText('You are sending too fast, slow down');
    await see(alert);

    await refused.getByRole('button', { name: 'Discard' }).click();
    await noLonger(refused);
    await noLonger(alert);
    expect((await cleo.messages()).slice(-3)).toEqual(['one', 'two', 'three']);
    await cleo.close();
  });
});
