import { connected, messageRow, messageText, noLonger, see, signIn, startCluster, useDatabaseAndBrowser, type Cluster } from './helpers';

// Edits, deletes and reactions a page missed (its replica was down) arrive when it comes back,
// and the server's refusals of a change are shown on the message.
jest.setTimeout(120_000);

const shared = useDatabaseAndBrowser();

describe('changes missed while disconnected', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(shared.ferret, 'redis');
  });
  afterAll(() => cluster?.close());

  test('edits, deletes and reactions made while Bob’s replica was down show once his page reconnects', async () => {
    const [first, second] = cluster.replicas;
    const alice = await signIn(shared.browser, first, 'Alice');
    const bob = await signIn(shared.browser, second, 'Bob');
    await alice.say('Meeting at 10');
    await alice.say('Draft, ignore');
    await alice.say('Coffee anyone?');
    await see(messageText(bob.page, 'Coffee anyone?'));

    await second.stop();
    await see(bob.page.locator('#connection').getByText('Reconnecting…'));

    const meeting = messageRow(alice.page, 'Meeting at 10');
    await meeting.hover();
    await meeting.getByRole('button', { name: 'Edit' }).click();
    await alice.page.getByLabel('Edit message').fill('Meeting at 11');
    await alice.page.getByLabel('Edit message').press('Enter');
    await see(messageText(alice.page, 'Meeting at 11'));
    const draft = messageRow(alice.page, 'Draft, ignore');
    await draft.hover();
    await draft.getByRole('button', { name: 'Delete' }).click();
    await alice.page.getByRole('group', { name: 'Delete this message?' }).getByRole('button', { name: 'Delete' }).click();
    await noLonger(messageText(alice.page, 'Draft, ignore'));
    const coffee = messageRow(alice.page, 'Coffee anyone?');
    await coffee.hover();
    await coffee.getByRole('button', { name: 'Add a reaction' }).click();
    await coffee.getByRole('button', { name: 'React with 👍' }).click();
    await see(coffee.locator('.reaction[data-emoji="👍"][aria-pressed="true"]'));

    // Bob still shows the old copies; back online, his page catches up on the changes by rev.
    await see(messageText(bob.page, 'Meeting at 10'));
    await second.start();
    await connected(bob.page, 30_000);
    await see(messageText(bob.page, 'Meeting at 11'));
    await see(messageRow(bob.page, 'Meeting at 11').locator('.message-edited'));
    await noLonger(messageText(bob.page, 'Draft, ignore'));
    await see(bob.page.locator('#message-list .message-deleted'));
    await see(messageRow(bob.page, 'Coffee anyone?').locator('.reaction[data-emoji="👍"][aria-pressed="false"]').getByText('1', { exact: true }));
    expect(await bob.messages()).toEqual(['Meeting at 11', 'Coffee anyone?']);

    // Live again: the next change arrives without a reload.
    await coffee.locator('.reaction[data-emoji="👍"]').click();
    await noLonger(messageRow(bob.page, 'Coffee anyone?').locator('.reaction[data-emoji]'));
    await alice.close();
    await bob.close();
  });
});

describe('a server where editing is turned off', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster(shared.ferret, 'redis', { env: { MESSAGE_EDIT_MINUTES: '0' } });
  });
  afterAll(() => cluster?.close());

  test('with editing turned off the page offers no Edit or Delete, and reactions still work', async () => {
    const [first] = cluster.replicas;
    const cara = await signIn(shared.browser, first, 'Cara');
    await cara.say('Set in stone');
    const row = messageRow(cara.page, 'Set in stone');
    await row.hover();
    await row.getByRole('button', { name: 'Add a reaction' }).click();
    await row.getByRole('button', { name: 'React with 👍' }).click();
    await see(row.locator('.reaction.mine .reaction-count').getByText('1', { exact: true }));
    expect(await row.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await row.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    await cara.close();
  });
});
