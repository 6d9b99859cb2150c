import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './net';

const MAIN = path.resolve(__dirname, '..', '..', 'dist', 'main.js');

export interface AppProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves when a line matching `pattern` appears in the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM and wait for the exit (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, no goodbye to the broker. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Runs the built server (`node dist/main.js`, as `npm start` does) as a real
 * process on a free port and waits until /healthz answers. `npm test` builds
 * dist/ first.
 */
export async function startAppProcess(
  env: Record<string, string>,
  options: { port?: number; waitFor?: 'healthz' | 'readyz' | 'none'; timeoutMs?: number; /** `ulimit -n` for the process. */ fileLimit?: number } = {},
): Promise<AppProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
  const port = options.port ?? (await freePort());
  const command: [string, string[]] =
    options.fileLimit === undefined
      ? [process.execPath, [MAIN]]
      : ['bash', ['-c', `ulimit -n ${options.fileLimit} && exec "$0" "$1"`, process.execPath, MAIN]];
  const child = spawn(...command, {
    env: { PATH: process.env.PATH, NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const watcher of watchers) watcher();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const waitForOutput = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(output);
        if (!match) return;
        cleanup();
        resolve(match[0]);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${pattern} in output:\n${output}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        watchers.delete(check);
      };
      watchers.add(check);
      check();
    });

  const app: AppProcess = {
    url,
    port,
    child,
    output: () => output,
    waitForOutput,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };

  const waitFor = options.waitFor ?? 'healthz';
  if (waitFor !== 'none') {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    let exitedEarly = false;
    void exited.then(() => (exitedEarly = true));
    for (;;) {
      if (exitedEarly) throw new Error(`app exited during start-up:\n${output}`);
      try {
        const res = await fetch(`${url}/${waitFor}`);
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await app.kill();
        throw new Error(`app did not become ${waitFor === 'readyz' ? 'ready' : 'healthy'} in time:\n${output}`);
      }
      await sleep(100); // polling a process we cannot subscribe to
    }
  }
  return app;
}
