import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, portOpen } from './net';

/** Debian's haproxy (.ci/run installs it); HAPROXY_BIN overrides. */
export const HAPROXY_BIN = process.env.HAPROXY_BIN ?? '/usr/sbin/haproxy';

export interface LoadBalancer {
  url: string;
  /** The sticky cookie's name, when sticky. */
  cookieName: string | null;
  stop(): Promise<void>;
}

/**
 * A real HAProxy on a free loopback port, round-robin over `backends`. With
 * `sticky`, it inserts a cookie naming the backend that served a client's first
 * request and sends that client there afterwards, as Traefik's sticky cookie
 * and ingress-nginx's affinity cookie do in the deployments.
 */
export async function startHAProxy(backends: { name: string; port: number }[], options: { sticky: boolean }): Promise<LoadBalancer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'haproxy-'));
  const port = await freePort();
  const cookieName = options.sticky ? 'chat_affinity' : null;
  const config = [
    'global',
    '  maxconn 512',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    `frontend chat`,
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    ...(cookieName ? [`  cookie ${cookieName} insert indirect nocache httponly`] : []),
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port}${cookieName ? ` cookie ${b.name}` : ''}`),
    '',
  ].join('\n');
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child = spawn(HAPROXY_BIN, ['-f', file, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null) throw new Error(`haproxy exited at start:\n${output}`);
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port}:\n${output}`);
    await sleep(50); // a foreign process: its port is all there is to watch
  }
  return {
    url: `http://127.0.0.1:${port}`,
    cookieName,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
