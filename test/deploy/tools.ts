import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const ROOT = path.resolve(__dirname, '..', '..');

const GOBIN = process.env.GOBIN ?? path.join(process.env.GOPATH ?? path.join(homedir(), 'go'), 'bin');

/** A binary .ci/run builds into GOPATH/bin; an env variable or PATH may point elsewhere. */
export function findTool(envVar: string, name: string): string {
  const fromEnv = process.env[envVar];
  if (fromEnv) return fromEnv;
  const inGoBin = path.join(GOBIN, name);
  if (existsSync(inGoBin)) return inGoBin;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`${name} not found (${envVar}, ${GOBIN}, PATH): .ci/run builds it`);
}

/**
 * The project model Docker Compose itself computes (`docker compose config`):
 * includes, extends and ${VAR:-default} resolved, with no variable set, as on
 * a fresh checkout without .env.
 */
export async function composeConfig(file: string, profiles: string[] = []): Promise<ComposeProject> {
  const bin = findTool('COMPOSE_BIN', 'docker-compose');
  const { stdout } = await run(bin, ['-f', file, 'config', '--format', 'json'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, COMPOSE_PROFILES: profiles.join(',') },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as ComposeProject;
}

/** `kustomize build` of a directory, as `kubectl apply -k` would render it. */
export async function kustomizeBuild(dir: string): Promise<K8sObject[]> {
  const bin = findTool('KUSTOMIZE_BIN', 'kustomize');
  const { stdout } = await run(bin, ['build', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(stdout).map((doc) => doc.toJS() as K8sObject).filter(Boolean);
}

/**
 * Validates objects against the Kubernetes (and Traefik CRD) API schemas of
 * kubernetes-models. Those packages are ESM-only, so they run in a child
 * node process (k8s-validate.mjs) rather than under Jest's CommonJS loader.
 * Resolves with one error list per object, empty when valid.
 */
export async function validateK8s(objects: K8sObject[]): Promise<string[][]> {
  const script = path.join(__dirname, 'k8s-validate.mjs');
  const child = execFile(process.execPath, [script], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
  const output = new Promise<string>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`k8s-validate exited ${code}: ${err}`))));
  });
  child.stdin!.end(JSON.stringify(objects));
  return JSON.parse(await output) as string[][];
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string | null>;
  labels?: Record<string, string>;
  ports?: { target: number; published?: string; host_ip?: string }[];
  volumes?: { type: string; source?: string; target: string; read_only?: boolean }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[]; interval?: string; disable?: boolean };
  container_name?: string;
  command?: string[] | null;
  stop_grace_period?: string;
}

export interface ComposeProject {
  name: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, { name: string; driver?: string }>;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The rest is checked by the schema validator; tests index into it loosely.
  [key: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
