import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAppProcess, type AppProcess } from '../helpers/app-process';
import { signIn } from '../helpers/client';
import { brokerEnv, waitFor } from '../helpers/cluster';
import { startFerretDB, type FerretDB } from '../helpers/ferretdb';
import { uniqueId } from '../helpers/net';
import { pngPhoto, uploadPhoto } from './photo';

/**
 * Avatars on a real GlusterFS volume, as the original demo kept them: Debian's glusterd (.ci/run
 * installs glusterfs-server), a volume with one brick, FUSE-mounted twice, each mount the
 * STORAGE_VOLUME of a different replica. A photo uploaded through one replica is served by the other.
 * glusterd binds to a loopback address of its own (the CLI refuses bricks on 127.0.0.1 and
 * localhost); `force` allows a brick on the root filesystem. Needs root (mounts) and /dev/fuse.
 */

jest.setTimeout(90_000);
const run = promisify(execFile);

const GLUSTERD = '/usr/sbin/glusterd';
// Any 127/8 address is this machine; one per run keeps parallel runs apart (glusterd's port is fixed).
const HOST = `127.0.0.${2 + Math.floor(Math.random() * 250)}`;
const VOLUME = uniqueId('chat-uploads-');

let dir: string;
let glusterd: ChildProcess | undefined;
let glusterdExited: Promise<unknown>;
let volumeStarted = false;
const mounts: string[] = [];
let ferret: FerretDB;
const replicas: AppProcess[] = [];

const gluster = (...args: string[]) =>
  run('gluster', ['--mode=script', `--glusterd-sock=${dir}/cli.socket`, `--log-file=${dir}/cli.log`, ...args]);

beforeAll(async () => {
  if (!existsSync(GLUSTERD)) throw new Error(`${GLUSTERD} not found: .ci/run installs glusterfs-server`);
  dir = await mkdtemp(path.join(tmpdir(), 'glusterfs-'));
  await mkdir(path.join(dir, 'state'));
  await mkdir(path.join(dir, 'brick'));
  // Debian's glusterd.vol with its own state, CLI socket and address, so the machine's defaults stay untouched.
  const vol = (await readFile('/etc/glusterfs/glusterd.vol', 'utf8'))
    .replace(/option working-directory .*/, `option working-directory ${dir}/state`)
    .replace(/(option transport-type socket)/, `$1\n    option transport.socket.bind-address ${HOST}\n    option glusterd-sockfile ${dir}/cli.socket`);
  await writeFile(path.join(dir, 'glusterd.vol'), vol);
  glusterd = spawn(GLUSTERD, ['--no-daemon', `--volfile=${dir}/glusterd.vol`, `--log-file=${dir}/glusterd.log`], { stdio: 'ignore' });
  glusterdExited = new Promise((resolve) => glusterd!.once('exit', resolve));
  // glusterd is up when its CLI socket answers.
  await waitFor(async () => {
    if (glusterd!.exitCode !== null) throw new Error(`glusterd exited: ${await readFile(`${dir}/glusterd.log`, 'utf8').catch(() => '')}`);
    return gluster('volume', 'list').then(() => true, () => false);
  }, 'glusterd to answer', 20_000);
  await gluster('volume', 'create', VOLUME, `${HOST}:${dir}/brick`, 'force');
  await gluster('volume', 'start', VOLUME);
  volumeStarted = true;
  for (const name of ['replica-1', 'replica-2']) {
    const mountPoint = path.join(dir, name);
    await mkdir(mountPoint);
    await run('mount', ['-t', 'glusterfs', `${HOST}:/${VOLUME}`, mountPoint]);
    mounts.push(mountPoint);
  }

  ferret = await startFerretDB();
  const shared = { MONGO_URL: ferret.url(), SESSION_SECRET: 'glusterfs-test-session-secret-0123456789', LOG_LEVEL: 'warn', ...brokerEnv('redis') };
  for (const [i, mountPoint] of mounts.entries()) {
    replicas.push(await startAppProcess({ ...shared, INSTANCE_NAME: `replica-${i + 1}`, STORAGE_VOLUME: mountPoint }, { waitFor: 'readyz' }));
  }
});

afterAll(async () => {
  // Every step runs even if one fails, so no mount, brick or glusterd outlives the test.
  const errors: unknown[] = [];
  const attempt = (step: Promise<unknown>) => step.catch((error) => errors.push(error));
  await attempt(Promise.all(replicas.map((r) => r.stop())));
  if (ferret) await attempt(ferret.destroy());
  for (const mountPoint of mounts) await attempt(run('umount', [mountPoint]));
  if (volumeStarted) {
    await attempt(gluster('volume', 'stop', VOLUME));
    await attempt(gluster('volume', 'delete', VOLUME));
  }
  // A brick process left behind by a failed stop: glusterd keeps its pid in its state folder.
  const runDir = path.join(dir ?? '', 'state', 'vols', VOLUME, 'run');
  for (const file of existsSync(runDir) ? await readdir(runDir) : []) {
    const pid = Number(await readFile(path.join(runDir, file), 'utf8'));
    if (file.endsWith('.pid') && pid > 0) await attempt(Promise.resolve().then(() => process.kill(pid, 'SIGKILL')));
  }
  if (glusterd && glusterd.exitCode === null) {
    glusterd.kill('SIGTERM');
    await glusterdExited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
  if (errors.length > 0) throw new AggregateError(errors, 'GlusterFS clean-up');
});

test('two FUSE mounts of one GlusterFS volume: a photo uploaded through one replica is served by the other', async () => {
  const mounted = (await readFile('/proc/mounts', 'utf8')).split('\n').filter((l) => l.includes(`${HOST}:/${VOLUME} `));
  expect(mounted.map((l) => l.split(' ').slice(1, 3))).toEqual(mounts.map((m) => [m, 'fuse.glusterfs']));

  const [first, second] = replicas as [AppProcess, AppProcess];
  const { cookie } = await signIn(first.url, 'Gina');
  const avatarUrl = await uploadPhoto(first.url, cookie, pngPhoto());
  // Written through replica-1's mount, visible in replica-2's.
  const name = path.basename(avatarUrl);
  expect(await readdir(path.join(mounts[1]!, 'avatars'))).toContain(name);
  const stored = await readFile(path.join(mounts[0]!, avatarUrl));

  const served = await fetch(`${second.url}${avatarUrl}`);
  expect(served.status).toBe(200);
  expect(Buffer.from(await served.arrayBuffer()).equals(stored)).toBe(true);
  // And the brick holds the one copy both replicas see.
  expect(await readdir(path.join(dir, 'brick', 'avatars'))).toContain(name);
});
