import { createServer, type Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server';
import { launchBrowser, signIn, type Person } from './helpers';

/**
 * The attacks of issue 11 from a real browser: a page on another port of the same host (same
 * site, another origin: the victim's SameSite=Lax cookie goes along) tries to drive the
 * signed-in victim's socket and to sign the victim in under the attacker's name.
 */

let app: TestServer;
let browser: Browser;
let evil: Server;
let evilUrl: string;
let victim: Person;

/** Opens a raw engine.io WebSocket to the chat and reports whether Socket.IO let it in. */
const probeSocket = (page: Page, chatPort: number) =>
  page.evaluate(
    (port) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
        ws.onmessage = (event) => {
          const data = String(event.data);
          if (data.startsWith('0')) ws.send('40'); // engine.io open → connect to the main namespace
          if (data.startsWith('40')) resolve('connected');
          if (data.startsWith('44')) resolve('refused by Socket.IO');
        };
        ws.onerror = () => resolve('refused');
      }),
    chatPort,
  );

beforeAll(async () => {
  [app, browser] = await Promise.all([startServer(), launchBrowser()]);
  evil = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    if (req.url === '/form') {
      res.end(`<form method="post" action="${app.url}/login"><input name="name" value="Mallory"></form>
        <script>document.forms[0].submit()</script>`);
    } else {
      res.end('<h1>cute cats</h1>');
    }
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  evilUrl = `http://127.0.0.1:${(evil.address() as { port: number }).port}`;
  victim = await signIn(browser, { name: 'app', url: app.url } as never, 'Victoria');
});

afterAll(async () => {
  await victim?.close();
  await browser?.close();
  await new Promise((resolve) => evil?.close(resolve));
  await app?.close();
});

test("a page on another port cannot open the signed-in victim's socket; the chat's own page can", async () => {
  expect(await probeSocket(victim.page, app.port)).toBe('connected'); // the probe works
  const attacker = await victim.context.newPage();
  await attacker.goto(evilUrl);
  expect(await probeSocket(attacker, app.port)).toBe('refused');
  await attacker.close();
});

test("a cross-site form POST to /login does not replace the victim's session", async () => {
  const attacker = await victim.context.newPage();
  const response = attacker.waitForResponse(`${app.url}/login`);
  await attacker.goto(`${evilUrl}/form`);
  expect((await response).status()).toBe(403);
  const session = await victim.context.request.get(`${app.url}/api/session`);
  expect(((await session.json()) as { user: { name: string } }).user.name).toBe('Victoria');
  await attacker.close();
});
