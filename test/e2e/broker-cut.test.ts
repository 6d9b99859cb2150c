import { BROKER_URLS } from '../helpers/cluster';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';
import { messageText, see, signIn, startCluster, type Cluster, type Person, useDatabaseAndBrowser } from './helpers';

// The delivery guarantee in a real browser: a broker cut between two replicas heals on the page, no reload.
jest.setTimeout(90_000);

const shared = useDatabaseAndBrowser();
let proxy: TcpProxy;
let cluster: Cluster;

beforeAll(async () => {
  proxy = await startTcpProxy('127.0.0.1', Number(new URL(BROKER_URLS.redis).port));
  cluster = await startCluster(shared.ferret, 'redis', { firstReplicaBrokerUrl: proxy.url(BROKER_URLS.redis) });
});
afterAll(async () => {
  await cluster?.close();
  await proxy?.close();
});

/** The seq of every message the page shows, in the order it shows them. */
const shownSeqs = (person: Person) =>
  person.page.locator('#message-list .message[data-seq]').evaluateAll((rows) => rows.map((row) => Number(row.getAttribute('data-seq'))));

test('messages sent while the broker link of one replica was cut appear on both pages once, in order, without a reload', async () => {
  const [first, second] = cluster.replicas;
  const alice = await signIn(shared.browser, first, 'Alice');
  const bob = await signIn(shared.browser, second, 'Bob');
  await alice.say('before the cut');
  await see(messageText(bob.page, 'before the cut'));

  await proxy.refuse();
  proxy.drop();
  for (const i of [1, 2, 3]) {
    await alice.say(`Alice during the cut ${i}`);
    await bob.say(`Bob during the cut ${i}`);
  }
  await proxy.accept();

  const all = ['before the cut', ...[1, 2, 3].flatMap((i) => [`Alice during the cut ${i}`, `Bob during the cut ${i}`])];
  for (const person of [alice, bob]) for (const text of all) await see(messageText(person.page, text));
  const seqs = await shownSeqs(alice);
  expect(await shownSeqs(bob)).toEqual(seqs);
  expect(seqs).toHaveLength(new Set(seqs).size);
  expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  expect((await alice.messages()).filter((t) => all.includes(t))).toHaveLength(all.length);
  await alice.close();
  await bob.close();
});
