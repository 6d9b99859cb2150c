import { spawn } from 'node:child_process';
import path from 'node:path';
import { startAppProcess, type AppProcess } from './helpers/app-process';
import { connect, expectOk, request, signIn } from './helpers/client';
import { freePort } from './helpers/net';

/** Logs as an operator reads them: the real process's output. */
describe('JSON logs in production', () => {
  let app: AppProcess;
  beforeAll(async () => {
    app = await startAppProcess({ NODE_ENV: 'production', ALLOW_INSECURE_DEMO: 'true', SESSION_SECRET: 'a-session-secret-for-logging-tests', LOG_LEVEL: 'debug', INSTANCE_NAME: 'replica-log' });
  });
  afterAll(() => app.stop());

  type Line = Record<string, unknown>;
  /** The JSON lines written so far; the last piece is left out until its newline arrives. */
  const lines = (): Line[] =>
    app
      .output()
      .split('\n')
      .slice(0, -1)
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Line);
  /** Waits for a whole line (not just the start of one) that matches. */
  const waitForLine = (pattern: string) => app.waitForOutput(new RegExp(`${pattern}[^\n]*\n`));

  test('every request line carries the replica, the person and the request id (answered in X-Request-Id)', async () => {
    const { cookie, user } = await signIn(app.url, 'Logan');
    const res = await fetch(`${app.url}/api/session`, { headers: { cookie } });
    const reqId = res.headers.get('x-request-id');
    expect(reqId).toMatch(/^[0-9a-f]{16}$/);
    await waitForLine(`"reqId":"${reqId}"`);
    const line = lines().find((l) => l.reqId === reqId)!;
    expect(line).toMatchObject({ instance: 'replica-log', userId: user.id, msg: 'request', method: 'GET', path: '/api/session', status: 200 });

    // A proxy's request id is kept, so one id follows the request through Traefik and the app.
    const traced = await fetch(`${app.url}/api/session`, { headers: { cookie, 'x-request-id': 'from-the-proxy-42' } });
    expect(traced.headers.get('x-request-id')).toBe('from-the-proxy-42');
    await waitForLine('"reqId":"from-the-proxy-42"');
  });

  test('every socket event line carries the replica, the person, the socket and a request id of its own', async () => {
    const { cookie, user } = await signIn(app.url, 'Sock');
    const socket = await connect(app.url, cookie);
    try {
      expectOk(await request(socket, 'room:list'));
      await waitForLine('"msg":"socket event"');
      const line = lines().find((l) => l.msg === 'socket event' && l.userId === user.id)!;
      expect(line).toMatchObject({ instance: 'replica-log', event: 'room:list', socketId: socket.id, outcome: 'ok' });
      expect(line.reqId).toMatch(/^[0-9a-f]{16}$/);
    } finally {
      socket.close();
    }
  });
});

test('on a terminal in development the logs are human-readable, not JSON, and a request still carries replica, person and request id', async () => {
  const port = await freePort();
  const main = path.resolve(__dirname, '..', 'dist', 'main.js');
  // `script` gives the process a pseudo-terminal, as a developer's shell would.
  const child = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(main)}`, '/dev/null'], {
    env: { PATH: process.env.PATH, NODE_ENV: 'development', PORT: String(port), HOST: '127.0.0.1', INSTANCE_NAME: 'dev-box' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const plainLines = () => output.replace(/\x1b\[[0-9;]*m/g, '').split(/\r?\n/);
  /** pino-pretty: a "[time] LEVEL: message" line, then the fields indented below it, coloured. */
  const entries = (): string[][] => {
    const found: string[][] = [];
    for (const line of plainLines()) {
      if (/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] /.test(line)) found.push([line]);
      else found.at(-1)?.push(line.trim());
    }
    return found;
  };
  /** Waits until the output so far passes `check` (an entry may arrive in several chunks). */
  const waitForOutput = (what: string, check: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} in:\n${output}`)), 15_000);
      const onData = () => {
        if (!check()) return;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      };
      child.stdout!.on('data', onData);
      onData();
    });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await Promise.race([waitForOutput('"chat listening"', () => output.includes('chat listening')), exited.then(() => Promise.reject(new Error(`exited early:\n${output}`)))]);
    const url = `http://127.0.0.1:${port}`;
    const { cookie, user } = await signIn(url, 'Devon');
    expect((await fetch(`${url}/api/session`, { headers: { cookie, 'x-request-id': 'dev-request-7' } })).status).toBe(200);
    const requestLogged = (entry: string[]) => entry.includes('reqId: "dev-request-7"') && entry.some((field) => field.startsWith('status:'));
    await waitForOutput('the whole request entry', () => entries().some(requestLogged));

    expect(plainLines().filter((l) => l.trimStart().startsWith('{'))).toEqual([]);
    const listening = entries().find(([first]) => first!.includes('chat listening'))!;
    expect(listening[0]).toContain('INFO');
    expect(listening[0]).toContain('dev-box');
    const requestEntry = entries().find(requestLogged)!;
    expect(requestEntry[0]).toMatch(/^\[[\d:.]+\] INFO: request$/);
    expect(requestEntry).toEqual(
      expect.arrayContaining(['instance: "dev-box"', `userId: "${user.id}"`, 'method: "GET"', 'path: "/api/session"', 'status: 200']),
    );
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
});
