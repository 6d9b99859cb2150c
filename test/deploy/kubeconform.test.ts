import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { crdFiles, KUBE_VERSION, kustomizations, moduleDir, render } from './kube';
import { crdSchemas, kubernetesSchemas, SCHEMA_TEMPLATE } from './kube-schemas';
import { findTool } from './tools';

/**
 * The offline check, for a machine without an API server: kubeconform (scripts/ci/build-kubeconform.sh)
 * on every overlay and component, against schemas made here from the OpenAPI spec of the
 * Kubernetes release the API-server test runs and from Traefik's CRDs. No download at run time.
 */

jest.setTimeout(120_000);

let schemas: string;
const TARGETS = kustomizations();

beforeAll(async () => {
  schemas = await mkdtemp(path.join(tmpdir(), 'kube-schemas-'));
  const kubernetes = await moduleDir(`k8s.io/kubernetes@${KUBE_VERSION}`);
  expect(await kubernetesSchemas(path.join(kubernetes, 'api/openapi-spec/swagger.json'), schemas)).toBeGreaterThan(100);
  for (const file of await crdFiles()) expect(await crdSchemas(file, schemas)).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  if (schemas) await rm(schemas, { recursive: true, force: true });
});

interface Result {
  resources: { filename: string; kind: string; name: string; version: string; status: string; msg: string }[];
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

function kubeconform(manifests: string): Promise<Result> {
  const bin = findTool('KUBECONFORM_BIN', 'kubeconform');
  return new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      ['-strict', '-summary', '-output', 'json', '-verbose', '-schema-location', path.join(schemas, SCHEMA_TEMPLATE), '-kubernetes-version', KUBE_VERSION.slice(1), '-'],
      { maxBuffer: 16 * 1024 * 1024 },
      // Exit code 1 means "invalid resources": the JSON says which.
      (error, stdout, stderr) => (stdout ? resolve(JSON.parse(stdout) as Result) : reject(error ?? new Error(stderr))),
    );
    child.stdin!.end(manifests);
  });
}

test.each(TARGETS.map((t) => [t.name, t] as const))('%s: every object valid against the offline schemas', async (_name, target) => {
  const manifests = await render(target);
  const result = await kubeconform(manifests);
  expect(result.resources.filter((r) => r.status !== 'statusValid').map((r) => `${r.kind}/${r.name}: ${r.status} ${r.msg}`)).toEqual([]);
  expect(result.summary.valid).toBe(parseAllDocuments(manifests).filter((d) => d.contents).length);
});

test('kubeconform with these schemas catches an unknown field, a wrong type and an unknown kind', async () => {
  const objects = parseAllDocuments(await render(TARGETS.find((t) => t.name === 'overlay nats')!)).map((d) => d.toJS());
  const deployment = objects.find((o) => o.kind === 'Deployment');
  deployment.spec.template.spec.containers[0].readinessProbe.httpGet.pth = '/readyz';
  const route = objects.find((o) => o.kind === 'IngressRoute');
  route.spec.routes[0].services[0].sticky.cookie.httpOnly = 'sometimes';
  const unknown = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
  const result = await kubeconform([deployment, route, unknown].map((o) => stringify(o)).join('---\n'));
  const status = Object.fromEntries(result.resources.map((r) => [r.kind, `${r.status} ${r.msg}`]));
  expect(status.Deployment).toMatch(/statusInvalid.*pth/);
  expect(status.IngressRoute).toMatch(/statusInvalid.*httpOnly/);
  expect(status.Widget).toMatch(/statusError.*could not find schema/);
});
