import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, portOpen, uniqueId } from './net';

/** .ci/run builds it; FERRETDB_BIN overrides the place. */
export const FERRETDB_BIN = process.env.FERRETDB_BIN ?? path.join(process.env.GOPATH ?? path.join(homedir(), 'go'), 'bin', 'ferretdb');

export interface FerretDB {
  port: number;
  /** A mongodb:// URL for a fresh database of its own. */
  url(database?: string): string;
  /** Stops the server (the data stays), as an outage would. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and deletes its data. */
  destroy(): Promise<void>;
}

/**
 * A real MongoDB wire-protocol server (FerretDB 1.x on SQLite) on a free
 * loopback port, with its data in a temporary folder.
 */
export async function startFerretDB(): Promise<FerretDB> {
  if (!existsSync(FERRETDB_BIN)) throw new Error(`FerretDB not found at ${FERRETDB_BIN}: run .ci/run (or set FERRETDB_BIN)`);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ferretdb-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';

  const start = async () => {
    const debugPort = await freePort();
    output = '';
    child = spawn(
      FERRETDB_BIN,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${dataDir}/`,
        `--state-dir=${dataDir}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--debug-addr=127.0.0.1:${debugPort}`,
        '--telemetry=disable',
        '--log-level=ERROR',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!(await portOpen(port))) {
      if (child.exitCode !== null) throw new Error(`FerretDB exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`FerretDB did not listen on ${port}:\n${output}`);
      await sleep(50); // a foreign process: nothing to subscribe to but its port
    }
  };

  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL'); // an outage, not a clean shutdown
    await exited;
  };

  await start();
  return {
    port,
    url: (database = uniqueId('db')) => `mongodb://127.0.0.1:${port}/${database}`,
    stop,
    start,
    destroy: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
