import type { Browser, BrowserContext, Page } from 'playwright-core';
import { uniqueId } from '../helpers/net';
import { startServer, type TestServer } from '../helpers/server';
import { connected, launchBrowser, screenshot, see } from './helpers';

/**
 * A passkey registered and used in Chromium, through its DevTools virtual authenticator
 * (CDP WebAuthn domain): what a person with a phone or a security key does, without one.
 * Served as http://localhost: WebAuthn accepts localhost as a secure context, not an IP.
 */

let app: TestServer;
let browser: Browser;
let base: string;
beforeAll(async () => {
  [app, browser] = await Promise.all([startServer(), launchBrowser()]);
  base = `http://localhost:${app.port}`;
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function openWithAuthenticator(): Promise<{ context: BrowserContext; page: Page; credentials(): Promise<unknown[]> }> {
  const context = await browser.newContext({ baseURL: base });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { context, page, credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials };
}

async function signInByName(page: Page, name: string) {
  await page.goto('/login');
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join the chat' }).click();
}

test('a person adds a passkey, the name is then protected, the passkey signs them in, and removing it frees the name', async () => {
  const name = uniqueId('Key');
  const { context, page, credentials } = await openWithAuthenticator();

  await signInByName(page, name);
  await connected(page);
  await page.getByRole('button', { name: 'Protect name' }).click();
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await see(page.getByText('Passkey added: your name is protected'));
  await see(page.getByText(/Passkey 1, added/));
  await screenshot(page, 'protect-name');
  expect(await credentials()).toHaveLength(1);
  const stored = await app.store.users.findByName(name);
  expect(stored!.passkeys).toHaveLength(1);

  // Somebody else typing the name is turned away.
  const intruder = await browser.newContext({ baseURL: base });
  const intruderPage = await intruder.newPage();
  await signInByName(intruderPage, name);
  await see(intruderPage.getByRole('alert').getByText(`“${name}” is protected: enter its password or sign in with its passkey`));
  await intruder.close();

  // The owner signs out and back in with the passkey.
  await page.getByRole('button', { name: 'Close' }).click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL('**/login');
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await connected(page);
  expect((await app.store.users.findByName(name))!.passkeys[0]!.counter).toBeGreaterThanOrEqual(stored!.passkeys[0]!.counter);

  // Removing the passkey makes the name open again.
  await page.getByRole('button', { name: 'Protect name' }).click();
  await page.getByRole('button', { name: 'Remove passkey 1' }).click();
  await see(page.getByText('Passkey removed'));
  expect((await app.store.users.findByName(name))!.passkeys).toEqual([]);
  await context.close();
});

test('a password set in the dialog protects the name; a passkey is then added only with it; the login form takes it', async () => {
  const name = uniqueId('Pw');
  const { context, page, credentials } = await openWithAuthenticator();
  await signInByName(page, name);
  await connected(page);
  await page.getByRole('button', { name: 'Protect name' }).click();
  await page.getByLabel('New password').fill('a very good password');
  await page.getByRole('button', { name: 'Save password' }).click();
  await see(page.getByText('Password saved: your name is protected'));

  // Whoever finds this session open cannot add a passkey of their own to the name.
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await see(page.getByRole('alert').getByText('Wrong password for this name'));
  expect(await credentials()).toHaveLength(0); // refused before the authenticator was asked
  await page.getByLabel('Current password').fill('a very good password');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await see(page.getByText('Passkey added: your name is protected'));
  expect((await app.store.users.findByName(name))!.passkeys).toHaveLength(1);
  await page.getByRole('button', { name: 'Sign out everywhere' }).click();
  await page.waitForURL('**/login');
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel(/^Password/).fill('a very good password');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await connected(page);
  await context.close();
});
