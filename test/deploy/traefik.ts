import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { freePort } from '../helpers/net';
import { findTool, ROOT } from './tools';

/**
 * Compose `traefik.*` labels → Traefik's file-provider configuration. The docker provider reads
 * the same keys as the file provider, lower-cased and flattened into dots; the file provider
 * wants them nested and camel-cased. Two labels have no file-provider equivalent: `traefik.enable`
 * (a docker-provider filter) and `loadbalancer.server.port` (combined with each container's
 * address), which becomes one server URL per replica. A key outside FIELD_NAMES is an error, so
 * a label the translation does not know never silently vanishes.
 */
const FIELD_NAMES = Object.fromEntries(
  [
    'http', 'routers', 'services', 'middlewares', 'rule', 'entryPoints', 'service', 'priority', 'loadBalancer',
    'servers', 'sticky', 'cookie', 'name', 'httpOnly', 'secure', 'sameSite', 'maxAge', 'path', 'domain',
    'healthCheck', 'interval', 'timeout', 'scheme', 'mode', 'hostname', 'port', 'status', 'headers',
    'followRedirects', 'passHostHeader', 'responseForwarding', 'flushInterval', 'serversTransport', 'tls',
  ].map((name) => [name.toLowerCase(), name]),
);

/** Fields whose label value is a comma-separated list. */
const LIST_FIELDS = ['entryPoints', 'middlewares'];

type Tree = { [key: string]: Tree | string | boolean | number | Tree[] | string[] };

export function fileProviderConfig(labels: Record<string, string>, serverUrls: string[]): Tree {
  const root: Tree = {};
  for (const [label, value] of Object.entries(labels)) {
    if (!label.startsWith('traefik.') || label === 'traefik.enable') continue;
    const parts = label.split('.').slice(1);
    if (parts.at(-2) === 'server' && parts.at(-1) === 'port') {
      // traefik.http.services.<name>.loadbalancer.server.port → servers: one URL per replica
      const loadBalancer = walk(root, parts.slice(0, -2));
      loadBalancer.servers = serverUrls.map((url) => ({ url }));
      continue;
    }
    const parent = walk(root, parts.slice(0, -1));
    const key = fieldName(parts, parts.length - 1);
    // `sticky.cookie=true` alone enables a default cookie; with sub-keys it is an object.
    if (value === 'true' && key === 'cookie') {
      parent[key] ??= {};
    } else if (LIST_FIELDS.includes(key)) {
      parent[key] = value.split(',').map((item) => item.trim());
    } else {
      parent[key] = value === 'true' ? true : value === 'false' ? false : value;
    }
  }
  // The docker provider gives a router without a service the container's only service; the file
  // provider needs it spelled out.
  const http = (root.http ?? {}) as Tree;
  const services = Object.keys((http.services ?? {}) as Tree);
  for (const [name, router] of Object.entries((http.routers ?? {}) as Record<string, Tree>)) {
    if (router.service) continue;
    if (services.length !== 1) throw new Error(`router ${name} names no service, and the labels define ${services.length}`);
    router.service = services[0]!;
  }
  return root;
}

function fieldName(parts: string[], index: number): string {
  const part = parts[index]!;
  // Router, service and middleware names are the user's own.
  if (['routers', 'services', 'middlewares'].includes(parts[index - 1] ?? '') && index === 2) return part;
  const name = FIELD_NAMES[part.toLowerCase()];
  if (!name) throw new Error(`unknown Traefik label key "${part}" in traefik.${parts.join('.')}`);
  return name;
}

function walk(root: Tree, parts: string[]): Tree {
  let node = root;
  parts.forEach((_, i) => {
    const key = fieldName(parts, i);
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  });
  return node;
}

export interface Traefik {
  /** The `web` entry point: what browsers talk to. */
  url: string;
  /** The `traefik` entry point: API and ping. */
  apiUrl: string;
  output(): string;
  /** Each server URL of `service` with its health as Traefik sees it ("UP" / "DOWN"). */
  serverStatus(service: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * Real Traefik (built by scripts/ci/build-traefik.sh) with the project's own static configuration,
 * traefik/traefik.yml, except: entry points on free loopback ports and the file provider (this
 * machine has no Docker engine) instead of the docker provider. Resolves once `probePath` answers
 * 200 through the `web` entry point (as Host localhost, which the compose rule routes).
 */
export async function startTraefik(dynamic: Tree, probePath = '/healthz'): Promise<Traefik> {
  const bin = findTool('TRAEFIK_BIN', 'traefik');
  const dir = await mkdtemp(path.join(tmpdir(), 'traefik-'));
  const staticConfig = parse(await readFile(path.join(ROOT, 'traefik', 'traefik.yml'), 'utf8'));
  const [webPort, apiPort] = [await freePort(), await freePort()];
  staticConfig.entryPoints.web.address = `127.0.0.1:${webPort}`;
  staticConfig.entryPoints.traefik.address = `127.0.0.1:${apiPort}`;
  staticConfig.providers = { file: { filename: path.join(dir, 'dynamic.yml'), watch: false } };
  await writeFile(path.join(dir, 'dynamic.yml'), stringify(dynamic));
  await writeFile(path.join(dir, 'traefik.yml'), stringify(staticConfig));

  const child = spawn(bin, [`--configFile=${path.join(dir, 'traefik.yml')}`], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Up when the file provider's routers are enabled and the web entry point listens (foreign-process
  // state). A router Traefik disables is an error in the translated configuration: fail with it.
  const routersLoaded = async () => {
    const routers = (await fetch(`${apiUrl}/api/http/routers?provider=file`)
      .then((r) => (r.ok ? r.json() : []))
      .catch(() => [])) as { name: string; status: string; error?: string[] }[];
    const disabled = routers.filter((r) => r.status !== 'enabled');
    if (disabled.length > 0) throw new Error(`Traefik disabled ${JSON.stringify(disabled.map((r) => ({ name: r.name, error: r.error })))}`);
    if (routers.length === 0) return false;
    // The API may show a router before the entry point serves it: ask through the entry point.
    return fetch(`http://localhost:${webPort}${probePath}`).then((r) => r.ok, () => false);
  };
  try {
    const deadline = Date.now() + 20_000;
    while (!(await routersLoaded())) {
      if (child.exitCode !== null) throw new Error(`traefik exited at start:\n${output}`);
      if (Date.now() > deadline) throw new Error(`traefik did not start:\n${output}`);
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${webPort}`,
    apiUrl,
    output: () => output,
    async serverStatus(service) {
      const res = await fetch(`${apiUrl}/api/http/services/${service}@file`);
      if (!res.ok) throw new Error(`no service ${service}@file: ${res.status}`);
      return ((await res.json()) as { serverStatus?: Record<string, string> }).serverStatus ?? {};
    },
    stop,
  };
}
