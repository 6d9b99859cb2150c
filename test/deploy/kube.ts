import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/cluster';
import { freePort } from '../helpers/net';
import { findTool, ROOT } from './tools';

const run = promisify(execFile);

/** The Kubernetes release CI builds kube-apiserver and kubectl from (scripts/ci/build-kube.sh). */
export const KUBE_VERSION = 'v1.37.2';

/**
 * CRDs the manifests need, read from Go module zips through the module proxy (the same pinned
 * releases every run): Traefik's, for the IngressRoute every overlay has.
 */
const CRD_SOURCES = [{ module: 'github.com/traefik/traefik/v3@v3.7.13', file: 'docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml' }];

export async function moduleDir(module: string): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', module], { cwd: tmpdir(), env: { ...process.env, GOFLAGS: '-mod=mod' } });
  return (JSON.parse(stdout) as { Dir: string }).Dir;
}

export async function crdFiles(): Promise<string[]> {
  return Promise.all(CRD_SOURCES.map(async (s) => path.join(await moduleDir(s.module), s.file)));
}

/** Every overlay, and every component on top of one overlay (a new directory is picked up by itself). */
export function kustomizations(): { name: string; dir: string; component?: string }[] {
  const dirs = (parent: string) =>
    readdirSync(path.join(ROOT, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  return [
    ...dirs('k8s/overlays').map((name) => ({ name: `overlay ${name}`, dir: path.join(ROOT, 'k8s/overlays', name) })),
    ...dirs('k8s/components').map((name) => ({ name: `component ${name}`, dir: path.join(ROOT, 'k8s/overlays/nats'), component: path.join(ROOT, 'k8s/components', name) })),
  ];
}

/** `kustomize build` of an overlay, with an optional component added as a user's own overlay would. */
export async function render(target: { dir: string; component?: string }): Promise<string> {
  const kustomize = findTool('KUSTOMIZE_BIN', 'kustomize');
  if (!target.component) return (await run(kustomize, ['build', target.dir], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  const dir = await mkdtemp(path.join(tmpdir(), 'k8s-component-'));
  try {
    await writeFile(
      path.join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        // kustomize takes relative paths only.
        `resources: [${path.relative(dir, target.dir)}]`,
        `components: [${path.relative(dir, target.component)}]`,
        '',
      ].join('\n'),
    );
    return (await run(kustomize, ['build', dir], { maxBuffer: 16 * 1024 * 1024 })).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ApiServer {
  /** kubectl against this API server; resolves with its output, rejects on a non-zero exit. */
  kubectl(args: string[], stdin?: string): Promise<{ stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/**
 * A real API server on loopback: etcd from Debian (.ci/run installs etcd-server) and kube-apiserver
 * (scripts/ci/build-kube.sh), with a service-account key and a static token made here, every
 * request allowed (AlwaysAllow: a throwaway server only this test talks to), no controllers and no nodes: it
 * validates, defaults and admits objects as a cluster does, and schedules nothing.
 */
export async function startApiServer(): Promise<ApiServer> {
  const apiserverBin = findTool('KUBE_APISERVER_BIN', 'kube-apiserver');
  const kubectlBin = findTool('KUBECTL_BIN', 'kubectl');
  const dir = await mkdtemp(path.join(tmpdir(), 'kube-apiserver-'));
  const children: { name: string; child: ChildProcess; exited: Promise<unknown>; output: () => string }[] = [];
  const start = (name: string, bin: string, args: string[]) => {
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    child.stderr!.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    children.push({ name, child, exited: new Promise((resolve) => child.once('exit', resolve)), output: () => output });
    return child;
  };
  const stop = async () => {
    for (const { child, exited } of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    start('etcd', 'etcd', [
      `--data-dir=${dir}/etcd`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      '--log-level=error',
    ]);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    await mkdir(path.join(dir, 'certs'));
    const token = randomBytes(24).toString('hex');
    await writeFile(path.join(dir, 'tokens.csv'), `${token},docker-chat-ci,docker-chat-ci,system:masters\n`);
    start('kube-apiserver', apiserverBin, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${dir}/certs`,
      '--service-cluster-ip-range=10.96.0.0/16',
      `--service-account-key-file=${dir}/sa.pub`,
      `--service-account-signing-key-file=${dir}/sa.key`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--token-auth-file=${dir}/tokens.csv`,
      '--authorization-mode=AlwaysAllow',
      // AlwaysAllow refuses anonymous requests: every request carries the token.
      '--anonymous-auth=false',
      // No controller manager runs: nothing would keep the kubernetes Service's endpoints.
      '--endpoint-reconciler-type=none',
      '--v=0',
    ]);
    await writeFile(
      path.join(dir, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server: `https://127.0.0.1:${apiPort}`, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'ci', user: { token } }],
        contexts: [{ name: 'test', context: { cluster: 'test', user: 'ci' } }],
        'current-context': 'test',
      }),
    );
    const kubectl = (args: string[], stdin?: string) =>
      new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        const child = execFile(kubectlBin, [`--kubeconfig=${dir}/kubeconfig`, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
          error ? reject(Object.assign(error, { stdout, stderr })) : resolve({ stdout, stderr }),
        );
        child.stdin!.end(stdin ?? '');
      });
    let lastError = '';
    await waitFor(
      async () => {
        const dead = children.find((c) => c.child.exitCode !== null);
        if (dead) throw new Error(`${dead.name} exited:\n${dead.output()}`);
        return kubectl(['get', '--raw=/readyz']).then(
          () => true,
          (error: { stderr?: string }) => ((lastError = error.stderr ?? String(error)), false),
        );
      },
      'kube-apiserver to be ready',
      90_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}: ${lastError}\n${children.at(-1)!.output()}`);
    });
    return { kubectl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
