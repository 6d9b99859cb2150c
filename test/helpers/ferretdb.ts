import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
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
  /** How many of each data command (insert, find, findAndModify…) it has served so far. */
  commands(): Promise<Record<string, number>>;
}

/** Commands the driver sends on its own (monitoring, sessions), not for the app's operations. */
const HOUSEKEEPING = new Set(['hello', 'isMaster', 'ismaster', 'ping', 'endSessions', 'buildInfo', 'buildinfo', 'saslStart', 'saslContinue', 'unknown', 'getParameter', 'listIndexes', 'createIndexes']);

/** The machine's PostgreSQL (trust authentication on loopback), FerretDB's backend. */
const POSTGRES = process.env.FERRETDB_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432';

const psql = (sql: string) => promisify(execFile)('psql', [`${POSTGRES}/postgres`, '-Atqc', sql]);

/**
 * A real MongoDB wire-protocol server (FerretDB 1.x on its PostgreSQL backend, several
 * times faster than SQLite) on a free loopback port, with a PostgreSQL database and a
 * state folder of its own. `args` adds flags (e.g. authentication).
 */
export async function startFerretDB(options: { args?: string[] } = {}): Promise<FerretDB> {
  if (!existsSync(FERRETDB_BIN)) throw new Error(`FerretDB not found at ${FERRETDB_BIN}: run .ci/run (or set FERRETDB_BIN)`);
  const dataDir = await mkdtemp(path.join(tmpdir(), 'ferretdb-'));
  const database = uniqueId('ferret_').replace(/[^a-z0-9_]/gi, '_').toLowerCase();
  await psql(`CREATE DATABASE ${database}`);
  const port = await freePort();
  let child: ChildProcess | null = null;
  let output = '';
  let debugPort = 0;

  const start = async () => {
    debugPort = await freePort();
    output = '';
    child = spawn(
      FERRETDB_BIN,
      [
        '--handler=postgresql',
        `--postgresql-url=${POSTGRES}/${database}`,
        `--state-dir=${dataDir}`,
        `--listen-addr=127.0.0.1:${port}`,
        `--debug-addr=127.0.0.1:${debugPort}`,
        '--telemetry=disable',
        '--log-level=ERROR',
        ...(options.args ?? []),
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
    commands: async () => {
      // FerretDB's own Prometheus counters, by command name.
      const text = await (await fetch(`http://127.0.0.1:${debugPort}/debug/metrics`)).text();
      const counts: Record<string, number> = {};
      for (const [, command, value] of text.matchAll(/^ferretdb_client_requests_total\{command="([^"]+)"[^}]*\} (\d+)/gm)) {
        if (!HOUSEKEEPING.has(command!)) counts[command!] = (counts[command!] ?? 0) + Number(value);
      }
      return counts;
    },
    destroy: async () => {
      await stop();
      await rm(dataDir, { recursive: true, force: true });
      await psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    },
  };
}
