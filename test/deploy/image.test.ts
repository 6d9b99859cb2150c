import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { signIn } from '../helpers/client';
import { startFerretDB, type FerretDB } from '../helpers/ferretdb';
import { freePort } from '../helpers/net';
import { pngPhoto, uploadPhoto } from './photo';
import { ROOT } from './tools';

/**
 * The project's Dockerfile built and run for real, without a Docker engine: buildah (Debian
 * package, chroot isolation, no daemon) builds it on the local stand-in for node:24 that
 * scripts/ci/build-base-image.sh makes (no registry is reachable here), passed as the NODE_IMAGE
 * build argument. Then the image's own command runs in the image's filesystem, as the image's user,
 * against FerretDB. buildah keeps the base image and the unchanged layers (`--layers`), so a
 * second run rebuilds only what changed.
 */

jest.setTimeout(900_000);
const run = promisify(execFile);
// chroot: buildah's default isolation needs cgroups this machine does not delegate.
const BUILDAH_ENV = { ...process.env, BUILDAH_ISOLATION: 'chroot' };
const buildah = (...args: string[]) => run('buildah', args, { env: BUILDAH_ENV, cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
const IMAGE = 'localhost/docker-chat:ci';

interface ImageConfig {
  User: string;
  WorkingDir: string;
  Env: string[];
  Cmd: string[];
  ExposedPorts: Record<string, unknown>;
  Volumes: Record<string, unknown>;
  Healthcheck?: { Test: string[]; Interval: number; Timeout: number; StartPeriod: number; Retries: number };
}

let config: ImageConfig;
let container: string | undefined;
let ferret: FerretDB;
let server: ChildProcess | undefined;
let serverExited: Promise<unknown>;
let output = '';
let url: string;

beforeAll(async () => {
  const { stdout: base } = await run('bash', [path.join(ROOT, 'scripts/ci/build-base-image.sh')], { env: BUILDAH_ENV });
  await buildah('bud', '--layers', '--network', 'host', '--format', 'docker', '--build-arg', `NODE_IMAGE=${base.trim()}`, '-t', IMAGE, '.');
  config = JSON.parse((await buildah('inspect', '--type', 'image', IMAGE)).stdout).Docker.config;
  container = (await buildah('from', IMAGE)).stdout.trim();
  ferret = await startFerretDB();
}, 900_000);

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    await serverExited;
  }
  await ferret?.destroy();
  if (container) await buildah('rm', container);
});

/**
 * Runs `command` in the working container: the image's filesystem, user, working directory and
 * environment, host network. Like Docker, buildah gives the image's VOLUME /uploads a volume of
 * the container's own, created with the owner of the image's /uploads, kept across runs.
 */
function runInImage(command: string[]) {
  return spawn('buildah', ['run', '--network', 'host', container!, '--', ...command], { env: BUILDAH_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function exitCodeInImage(command: string[]): Promise<number | null> {
  const child = runInImage(command);
  return new Promise((resolve) => child.once('exit', resolve));
}

test('the image: unprivileged user, production settings, port 3000, /uploads, and a HEALTHCHECK (docker format keeps it)', () => {
  expect(config.User).toBe('node');
  expect(config.WorkingDir).toBe('/app');
  expect(config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'PORT=3000', 'STORAGE_VOLUME=/uploads']));
  expect(config.Cmd).toEqual(['node', 'dist/main.js']);
  expect(Object.keys(config.ExposedPorts)).toEqual(['3000/tcp']);
  expect(Object.keys(config.Volumes)).toEqual(['/uploads']);
  expect(config.Healthcheck?.Test[0]).toBe('CMD');
  expect(config.Healthcheck?.Test.join(' ')).toContain('/healthz');
});

test("the image's own command, as its user, serves /healthz, /readyz on MongoDB, writes photos to /uploads, signs in with a password; its HEALTHCHECK tells", async () => {
  const port = await freePort();
  // The environment a `docker run -e ...` would add; everything else is the image's.
  await buildah('config', '--env', `PORT=${port}`, '--env', 'HOST=127.0.0.1', '--env', `MONGO_URL=${ferret.url()}`, '--env', 'SESSION_SECRET=image-test-session-secret-0123456789', container!);
  const healthcheck = config.Healthcheck!.Test.slice(1);
  // Nothing listens yet: the check fails, so a pass below means something.
  expect(await exitCodeInImage(healthcheck)).toBe(1);

  server = runInImage(config.Cmd);
  serverExited = new Promise((resolve) => server!.once('exit', resolve));
  server.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  server.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  url = `http://127.0.0.1:${port}`;
  // The process logs when it listens (pino JSON); its port is what there is to watch.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the image's server did not start:\n${output}`)), 60_000);
    const check = async () => {
      if (server!.exitCode !== null) return reject(new Error(`the image's server exited:\n${output}`));
      const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ok) {
        clearTimeout(timer);
        resolve();
      } else setTimeout(check, 200);
    };
    void check();
  });

  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  const ready = (await (await fetch(`${url}/readyz`)).json()) as { status: string; checks: Record<string, { kind: string; ready: boolean }> };
  expect(ready.status).toBe('ready');
  expect(ready.checks.store).toEqual({ kind: 'mongodb', ready: true });

  const { cookie, user } = await signIn(url, 'Ida');
  // Both native modules, loaded and used inside the image: sharp decodes the photo...
  const avatarUrl = await uploadPhoto(url, cookie, pngPhoto());
  expect((await fetch(`${url}${avatarUrl}`)).status).toBe(200);
  // The file is in the container's /uploads volume, written by the node user (uid 1000), not root.
  const { stdout: owner } = await run('buildah', ['run', container!, '--', 'stat', '-c', '%U %u', path.posix.join('/uploads', avatarUrl)], { env: BUILDAH_ENV });
  expect(owner.trim()).toBe('node 1000');

  // ...and @node-rs/argon2 hashes a password set through the API, then verifies it at sign-in. Writes
  // must come from the site's own pages: a browser would send this Origin.
  const post = (method: string, path: string, body: object, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', origin: url, ...headers }, body: JSON.stringify(body) });
  const protection = await post('PUT', '/api/password', { password: 'a password hashed in the image' }, { cookie });
  expect({ status: protection.status, body: await protection.json() }).toMatchObject({ status: 200, body: { password: true } });
  const wrong = await post('POST', '/api/session', { name: 'Ida', password: 'not the password at all' });
  expect({ status: wrong.status, body: await wrong.json() }).toMatchObject({ status: 401, body: { error: { code: 'WRONG_PASSWORD' } } });
  const right = await post('POST', '/api/session', { name: 'Ida', password: 'a password hashed in the image' });
  expect({ status: right.status, body: await right.json() }).toMatchObject({ status: 201, body: { user: { id: user.id } } });

  expect(await exitCodeInImage(healthcheck)).toBe(0);
});
