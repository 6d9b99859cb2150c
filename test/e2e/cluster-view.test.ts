import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import type { ClusterView } from '../../src/shared/cluster';
import { startAppProcess, type AppProcess } from '../helpers/app-process';
import { connect, expectOk, request, signIn as signInOverHttp, type ChatClient } from '../helpers/client';
import { BROKERS, brokerEnv, type BrokerName } from '../helpers/cluster';
import { connected, noLonger, SCREENSHOTS, see, useDatabaseAndBrowser } from './helpers';

// The cluster view in a real browser while replicas come and go, on every broker.
jest.setTimeout(120_000);

/** How often the page asks for the view (src/client/cluster.ts). */
const POLL_MS = 1000;
/** Room for a loaded machine on top of the design's own delays. */
const SLACK_MS = 1500;

// The replicas share one MongoDB-protocol database, as a deployment's do.
const shared = useDatabaseAndBrowser();

describe.each(BROKERS)('over %s', (broker: BrokerName) => {
  const env = { ...brokerEnv(broker), SESSION_SECRET: randomBytes(24).toString('hex'), LOG_LEVEL: 'warn' };
  let browser: Browser;
  beforeAll(() => {
    browser = shared.browser;
    Object.assign(env, { MONGO_URL: shared.ferret.url() });
  });
  const name = (n: number) => `cv-${broker}-${n}`;
  const replicas: AppProcess[] = [];
  const sockets: ChatClient[] = [];
  const start = async (n: number) => {
    const replica = await startAppProcess({ ...env, INSTANCE_NAME: name(n) }, { waitFor: 'readyz' });
    replicas.push(replica);
    return replica;
  };
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(replicas.map((r) => r.stop()));
  });

  test('the page shows every replica live: a message crossing the broker, one replica killed, one added', async () => {
    const [first, second, third] = await Promise.all([start(1), start(2), start(3)]);
    // People on the second and third replicas, so the picture has counts on it.
    for (const [replica, person] of [[second, 'Alice'], [third, 'Bob']] as const) {
      sockets.push(await connect(replica.url, (await signInOverHttp(replica.url, person)).cookie));
    }

    const context = await browser.newContext({ baseURL: first.url, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => message.type() === 'error' && message.text().includes('Content Security Policy') && problems.push(message.text()));

    // Not signed in: the page asks for a sign-in or the operator token.
    await page.goto('/cluster');
    await see(page.getByRole('link', { name: 'Sign in to the chat' }));

    await page.goto('/login');
    await page.getByLabel('Your name').fill('Presenter');
    await page.getByRole('button', { name: 'Join the chat' }).click();
    await connected(page);
    await page.goto('/cluster');

    const row = (n: number) => page.locator(`#cluster-table-body tr[data-instance="${name(n)}"]`);
    for (const n of [1, 2, 3]) await see(row(n));
    await see(row(1).getByText(`${name(1)} (you)`));
    await see(page.locator(`#cluster-map g.replica.is-viewer[data-instance="${name(1)}"]`));
    await see(page.locator('#cluster-summary').getByText(/^3 replicas/));
    await see(page.locator('#cluster-live').getByText('Live'));

    // A message sent on the first replica crosses the broker: a dot leaves it, dots reach the others.
    const sender = await connect(first.url, (await signInOverHttp(first.url, 'Sender')).cookie);
    sockets.push(sender);
    const general = expectOk(await request(sender, 'room:list')).rooms[0]!.id;
    expectOk(await request(sender, 'room:join', { roomId: general }));
    const leaving = waitForPulse(page, `[data-from="${name(1)}"]`);
    const arriving = waitForPulse(page, `[data-to="${name(2)}"]`);
    expectOk(await request(sender, 'message:send', { roomId: general, text: 'Across the broker' }));
    await Promise.all([leaving, arriving]);
    // Taken while the dots travel (the helper's screenshot would finish the animations first).
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `cluster-${broker}.png`) });

    // The design's bounds, from the cluster's own timing: a killed replica is forgotten once silent for the
    // heartbeat timeout, a new one is heard within a figures interval, and the page asks once a second.
    // Slack for a loaded 2-core machine: these are correctness bounds, not benchmarks.
    const { timeoutMs, intervalMs } = (await page.evaluate(() => fetch('/api/cluster').then((r) => r.json()))) as ClusterView;
    const bounds = { goneMs: timeoutMs + intervalMs + POLL_MS + SLACK_MS, addedMs: intervalMs + POLL_MS + SLACK_MS };

    // Killed without a goodbye: gone within the heartbeat timeout.
    await third.kill();
    const killedAt = Date.now();
    await noLonger(row(3));
    expect(Date.now() - killedAt).toBeLessThanOrEqual(bounds.goneMs);
    await see(page.locator('#cluster-summary').getByText(/^2 replicas/));
    // Added: there once its /readyz answers and its first figures reach the page.
    await start(4);
    const readyAt = Date.now();
    await see(row(4));
    expect(Date.now() - readyAt).toBeLessThanOrEqual(bounds.addedMs);
    await see(page.locator(`#cluster-map g.replica[data-instance="${name(4)}"]`));
    await see(page.locator('#cluster-summary').getByText(/^3 replicas/));

    await context.close();
    expect(problems).toEqual([]);
  });
});

test('the page asks once a second, counted from the start of each request, however slow the answers', async () => {
  const replica = await startAppProcess(
    { SESSION_SECRET: randomBytes(24).toString('hex'), LOG_LEVEL: 'warn', MONGO_URL: shared.ferret.url(), INSTANCE_NAME: 'cv-poll' },
    { waitFor: 'readyz' },
  );
  const context = await shared.browser.newContext({ baseURL: replica.url });
  try {
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    await page.goto('/login');
    await page.getByLabel('Your name').fill('Poller');
    await page.getByRole('button', { name: 'Join the chat' }).click();
    await connected(page);
    // Every answer takes 600 ms: waiting a second after each answer would make it one request per 1.6 s.
    const starts: number[] = [];
    await page.route('**/api/cluster', async (route) => {
      starts.push(Date.now());
      await sleep(600);
      await route.continue();
    });
    await page.goto('/cluster');
    await see(page.locator('#cluster-live').getByText('Live'));
    while (starts.length < 6) await sleep(200);
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    expect(gaps.filter((gap) => gap < 900 || gap > 1400)).toEqual([]);
  } finally {
    await context.close();
    await replica.stop();
  }
});

/** A dot is on screen for well under a second: wait for it to be attached, by a listener set up before the send. */
function waitForPulse(page: Page, selector: string): Promise<unknown> {
  return page.locator(`#cluster-map circle.pulse${selector}`).first().waitFor({ state: 'attached' });
}
