import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { startAppProcess, type AppProcess } from '../helpers/app-process';
import { brokerEnv, type BrokerName } from '../helpers/cluster';
import { startFerretDB, type FerretDB } from '../helpers/ferretdb';

/** Debian's Chromium (.ci/run installs it); Playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve(__dirname, '..', '..', 'test-results', 'e2e');

/** How long a person waits for the page to show something before the test fails. */
const UI_TIMEOUT_MS = 15_000;

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No sandbox: CI runs as root. The rest keeps Chromium off the network except for our pages.
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--disable-gpu',
    ],
  });
}

/**
 * Registers this file's hooks for one FerretDB and one Chromium, shared by its
 * tests; the returned object is filled in before the first test runs.
 */
export function useDatabaseAndBrowser(): { ferret: FerretDB; browser: Browser } {
  const shared = {} as { ferret: FerretDB; browser: Browser };
  beforeAll(async () => {
    [shared.ferret, shared.browser] = await Promise.all([startFerretDB(), launchBrowser()]);
  });
  afterAll(async () => {
    await shared.browser?.close();
    await shared.ferret?.destroy();
  });
  return shared;
}

export interface Replica {
  readonly name: string;
  readonly url: string;
  /** SIGTERM, as a rolling update does. */
  stop(): Promise<void>;
  /** SIGKILL: a crash, with no goodbye to the clients or the broker. */
  kill(): Promise<void>;
  /** A new process on the same port with the same environment. */
  start(): Promise<void>;
}

export interface Cluster {
  broker: BrokerName;
  replicas: [Replica, Replica];
  close(): Promise<void>;
}

/**
 * Two app replicas as separate processes (the built dist/main.js) sharing one
 * MongoDB database (on `ferret`), one broker prefix, one session secret and one
 * upload volume: what a load balancer would spread people over.
 */
export async function startCluster(
  ferret: FerretDB,
  broker: BrokerName,
  options: { env?: Record<string, string>; firstReplicaBrokerUrl?: string } = {},
): Promise<Cluster> {
  const storageVolume = await mkdtemp(path.join(tmpdir(), 'chat-e2e-'));
  const env = {
    ...brokerEnv(broker),
    MONGO_URL: ferret.url(),
    SESSION_SECRET: randomBytes(24).toString('hex'),
    STORAGE_VOLUME: storageVolume,
    LOG_LEVEL: 'warn',
    ...options.env,
  };
  // The first replica may reach the broker another way (through a proxy a test cuts).
  const own = (index: number) =>
    index === 0 && options.firstReplicaBrokerUrl ? brokerEnv(broker, { url: options.firstReplicaBrokerUrl, prefix: (env as Record<string, string>).BROKER_PREFIX }) : {};
  const start = async (index: number, port?: number) =>
    startAppProcess({ ...env, ...own(index), INSTANCE_NAME: `chat-${broker}-${index + 1}` }, { port, waitFor: 'readyz' });
  const replica = (first: AppProcess, index: number): Replica => {
    let current: AppProcess | null = first;
    return {
      name: `chat-${broker}-${index + 1}`,
      url: first.url,
      async stop() {
        await current?.stop();
        current = null;
      },
      async kill() {
        await current?.kill();
        current = null;
      },
      async start() {
        current = await start(index, first.port);
      },
    };
  };
  const [a, b] = await Promise.all([start(0), start(1)]);
  const replicas: [Replica, Replica] = [replica(a, 0), replica(b, 1)];

  return {
    broker,
    replicas,
    async close() {
      await Promise.all(replicas.map((r) => r.stop()));
      await rm(storageVolume, { recursive: true, force: true });
    },
  };
}

/**
 * Registers this file's hooks for the usual stage: one FerretDB, one Chromium and two
 * replicas joined by Redis (`startCluster`). The returned object works once the tests run.
 */
export function useTwoReplicas(options: { env?: Record<string, string> } = {}): {
  readonly browser: Browser;
  one(): Replica;
  two(): Replica;
} {
  let ferret: FerretDB | undefined;
  let browser: Browser | undefined;
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    [ferret, browser] = await Promise.all([startFerretDB(), launchBrowser()]);
    cluster = await startCluster(ferret, 'redis', options);
  });
  // The replicas stop before the database they use.
  afterAll(async () => {
    await browser?.close();
    await cluster?.close();
    await ferret?.destroy();
  });
  const started = () => {
    if (!cluster) throw new Error('the cluster is not started yet (use it inside a test)');
    return cluster;
  };
  return {
    get browser() {
      if (!browser) throw new Error('the browser is not started yet (use it inside a test)');
      return browser;
    },
    one: () => started().replicas[0],
    two: () => started().replicas[1],
  };
}

export interface Person {
  name: string;
  context: BrowserContext;
  page: Page;
  /** The messages as the person sees them, in order. */
  messages(): Promise<string[]>;
  say(text: string): Promise<void>;
  /** Closes the browser profile; rejects if the page had script errors or CSP refusals. */
  close(): Promise<void>;
}

/** A person with a browser profile of their own, signed in on `replica`'s sign-in page. */
export async function signIn(
  browser: Browser,
  replica: Replica,
  name: string,
  viewport = { width: 1280, height: 800 },
  /** Prepares the browser profile before the first page opens (permissions, init scripts). */
  prepare?: (context: BrowserContext) => Promise<void>,
): Promise<Person> {
  const context = await browser.newContext({ baseURL: replica.url, viewport });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  await prepare?.(context);
  const page = await context.newPage();
  // Script errors and CSP refusals fail the test when the person leaves.
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && message.text().includes('Content Security Policy')) problems.push(message.text());
  });
  await page.goto('/login');
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await connected(page);
  await see(page.locator('#room-name-heading').filter({ hasText: /\S/ }).filter({ hasNotText: '…' }));
  return {
    name,
    context,
    page,
    messages: () => page.locator('#message-list .message-text').allTextContents(),
    async say(text) {
      await page.getByLabel('Message', { exact: true }).fill(text);
      await page.getByLabel('Message', { exact: true }).press('Enter');
      await see(page.locator('#message-list .message:not(.pending)').getByText(text, { exact: true }));
    },
    async close() {
      await context.close();
      if (problems.length > 0) throw new Error(`${name}'s page reported errors:\n${problems.join('\n')}`);
    },
  };
}

export async function see(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: 'visible' });
}

/** Waits until nothing matches (hidden or gone from the page). */
export async function noLonger(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: 'hidden' });
}

export async function connected(page: Page, timeout?: number): Promise<void> {
  await page.locator('#connection[data-state="connected"]').waitFor({ state: 'visible', timeout });
}

export function messageText(page: Page, text: string): Locator {
  return page.locator('#message-list .message-text').getByText(text, { exact: true });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // Finished transitions: the phone drawer slides in.
  await page.screenshot({ path: file, animations: 'disabled' });
  return file;
}

/** A room or direct conversation in the sidebar, by its name. */
export function sidebarEntry(page: Page, name: string): Locator {
  return page.locator('#room-list .room-link, #dm-list .room-link').filter({ has: page.locator('.room-link-name').getByText(name, { exact: true }) });
}

/** The row of the message whose text is `text`. */
export function messageRow(page: Page, text: string): Locator {
  return page.locator('#message-list .message').filter({ has: page.locator('.message-text').getByText(text, { exact: true }) });
}

/**
 * The page as a hidden tab (another tab in front, the window minimised): what `document.hidden`
 * says and the `visibilitychange` it fires. Headless Chromium shows every tab as visible, so the
 * page's view of it is set instead. (Scripts run in the page, as text: no DOM types here.)
 */
export async function setTabHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(
    hidden
      ? `Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
         Object.defineProperty(document, 'hidden', { configurable: true, get: () => true });
         document.dispatchEvent(new Event('visibilitychange'));`
      : `delete document.visibilityState;
         delete document.hidden;
         document.dispatchEvent(new Event('visibilitychange'));`,
  );
}

/**
 * Grants notifications to the profile and records every notification its pages show, in the
 * order shown (read them with `shownNotifications`).
 */
export async function recordNotifications(context: BrowserContext): Promise<void> {
  await context.grantPermissions(['notifications']);
  await context.addInitScript({
    content: `
      window.shownNotifications = [];
      const RealNotification = window.Notification;
      window.Notification = class extends RealNotification {
        constructor(title, options) {
          window.shownNotifications.push({ title, body: (options && options.body) || '' });
          super(title, options);
        }
      };`,
  });
}

export async function shownNotifications(page: Page): Promise<{ title: string; body: string }[]> {
  return (await page.evaluate('window.shownNotifications')) as { title: string; body: string }[];
}
