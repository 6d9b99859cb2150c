import { readFile } from 'node:fs/promises';
import { parseAllDocuments, stringify } from 'yaml';
import { crdFiles, kustomizations, render, startApiServer, type ApiServer } from './kube';

/**
 * Every overlay and every component (directories enumerated, so a new one is checked too) applied
 * to a real kube-apiserver with `kubectl apply --server-side --dry-run=server`: the API server's own
 * validation, defaulting and admission, strict field validation, CRD schemas (Traefik's CRDs are
 * applied first). Any warning fails, such as a deprecated or removed API or a field that no longer
 * works (the in-tree glusterfs volume). Needs etcd (Debian) and kube-apiserver and kubectl built by
 * scripts/ci/build-kube.sh.
 */

jest.setTimeout(180_000);

let api: ApiServer;
const TARGETS = kustomizations();
const rendered = new Map<string, string>();

beforeAll(async () => {
  api = await startApiServer();
  for (const file of await crdFiles()) await api.kubectl(['apply', '--server-side', '-f', '-'], await readFile(file, 'utf8'));
  await api.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  // Dry runs create nothing, so the namespace the objects go to must exist for real.
  await api.kubectl(['create', 'namespace', 'docker-chat']);
  await Promise.all(TARGETS.map(async (t) => rendered.set(t.name, await render(t))));
}, 180_000);

afterAll(async () => {
  await api?.stop();
});

const dryRun = (manifests: string) => api.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=docker-chat-ci', '-f', '-'], manifests);
const warnings = (stderr: string) => stderr.split('\n').filter((line) => /^warning:/i.test(line));

test('there is something to check: the three overlays and the components', () => {
  expect(TARGETS.map((t) => t.name)).toEqual(expect.arrayContaining(['overlay nats', 'overlay rabbitmq', 'overlay redis', 'component glusterfs', 'component ingress-traefik']));
});

test.each(TARGETS.map((t) => t.name))('%s: the API server accepts every object, without a warning', async (name) => {
  const { stdout, stderr } = await dryRun(rendered.get(name)!);
  expect(warnings(stderr)).toEqual([]);
  const objects = parseAllDocuments(rendered.get(name)!).filter((d) => d.contents);
  expect(stdout.trim().split('\n')).toHaveLength(objects.length);
  expect(stdout).toContain('serverside-applied (server dry run)');
});

describe('the check can fail', () => {
  const nats = () => parseAllDocuments(rendered.get('overlay nats')!).map((d) => d.toJS());
  const rejection = (manifests: string) => dryRun(manifests).then(() => '', (error: { stderr: string }) => error.stderr);

  test('an unknown field and a wrong type in a Deployment are rejected', async () => {
    const deployment = nats().find((o) => o.kind === 'Deployment' && o.metadata.name === 'docker-chat');
    deployment.spec.template.spec.containers[0].readinessProbe.httpGet.pth = '/readyz';
    expect(await rejection(stringify(deployment))).toMatch(/readinessProbe.httpGet.pth: field not declared in schema/);
    delete deployment.spec.template.spec.containers[0].readinessProbe.httpGet.pth;
    deployment.spec.template.spec.terminationGracePeriodSeconds = 'soon';
    expect(await rejection(stringify(deployment))).toMatch(/terminationGracePeriodSeconds/);
  });

  test("Traefik's CRD schema rejects a malformed IngressRoute", async () => {
    const route = nats().find((o) => o.kind === 'IngressRoute');
    route.spec.routes[0].services[0].sticky.cookie.httpOnly = 'sometimes';
    expect(await rejection(stringify(route))).toMatch(/httpOnly/);
  });

  test('deprecated and no longer working APIs come back as warnings', async () => {
    const legacy = [
      { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'gluster', namespace: 'docker-chat' }, subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 1 }] }] },
      {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'in-tree-glusterfs' },
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteMany'], glusterfs: { endpoints: 'gluster', path: 'vol' } },
      },
    ];
    const { stderr } = await dryRun(legacy.map((o) => stringify(o)).join('---\n'));
    expect(warnings(stderr).join('\n')).toMatch(/Endpoints is deprecated/);
    expect(warnings(stderr).join('\n')).toMatch(/glusterfs/);
  });
});
