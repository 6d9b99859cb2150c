import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ENV_VARS, loadConfig, type BrokerKind } from '../../src/config';
import { kustomizeBuild, ROOT, validateK8s, type K8sObject } from './tools';

/**
 * Each overlay rendered by kustomize (as `kubectl apply -k` would), validated
 * against the Kubernetes API schemas, then read the way the cluster would
 * read it: which env the chat container gets, which ports and paths probes hit.
 */

const OVERLAYS: { name: string; broker: Exclude<BrokerKind, 'none'>; service: string; port: number }[] = [
  { name: 'redis', broker: 'redis', service: 'redis', port: 6379 },
  { name: 'rabbitmq', broker: 'rabbitmq', service: 'rabbitmq', port: 5672 },
  { name: 'nats', broker: 'nats', service: 'nats', port: 4222 },
];
const NAMESPACE = 'docker-chat';
const CLUSTER_SCOPED = ['Namespace', 'PersistentVolume'];

const rendered = new Map<string, K8sObject[]>();
let extras: K8sObject[] = [];
beforeAll(async () => {
  await Promise.all(OVERLAYS.map(async (o) => rendered.set(o.name, await kustomizeBuild(`k8s/overlays/${o.name}`))));
  // The optional components, on top of one overlay, as a user's own overlay would add them.
  const dir = mkdtempSync(path.join(tmpdir(), 'k8s-components-'));
  try {
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        // kustomize takes relative paths only.
        `resources: [${path.relative(dir, path.join(ROOT, 'k8s/overlays/nats'))}]`,
        `components: [${['glusterfs', 'browser', 'ingress-nginx'].map((c) => path.relative(dir, path.join(ROOT, 'k8s/components', c))).join(', ')}]`,
      ].join('\n'),
    );
    extras = await kustomizeBuild(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const find = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not in the rendered output`);
  return found;
};
// Generated ConfigMaps and Secrets carry a hash suffix; kustomize rewrites references to match,
// so they are looked up through the references.
const findGenerated = find;
const appContainer = (objects: K8sObject[]) => find(objects, 'Deployment', 'docker-chat').spec.template.spec.containers[0];
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const EXPOSED = Number(/^EXPOSE (\d+)$/m.exec(dockerfile)![1]);

/** The env the chat container starts with: the Dockerfile's ENV, then envFrom, then env, references resolved. */
function effectiveEnv(objects: K8sObject[], container: any, podName = 'docker-chat-7d9f-abcde'): Record<string, string> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const secretValue = (name: string, key: string) => {
    const data = findGenerated(objects, 'Secret', name).data ?? {};
    if (!(key in data)) throw new Error(`Secret ${name} has no key ${key}`);
    return Buffer.from(String(data[key]).replace(/\s+/g, ''), 'base64').toString('utf8');
  };
  const configValue = (name: string, key: string) => {
    const data = findGenerated(objects, 'ConfigMap', name).data ?? {};
    if (!(key in data)) throw new Error(`ConfigMap ${name} has no key ${key}`);
    return String(data[key]);
  };
  const env: Record<string, string> = { NODE_ENV: 'production', PORT: String(EXPOSED), STORAGE_VOLUME: '/uploads', HOSTNAME: podName };
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, findGenerated(objects, 'ConfigMap', from.configMapRef.name).data);
    if (from.secretRef) {
      const data = findGenerated(objects, 'Secret', from.secretRef.name).data ?? {};
      for (const key of Object.keys(data)) env[key] = secretValue(from.secretRef.name, key);
    }
  }
  for (const item of container.env ?? []) {
    const ref = item.valueFrom;
    if (!ref) env[item.name] = item.value;
    else if (ref.secretKeyRef) env[item.name] = secretValue(ref.secretKeyRef.name, ref.secretKeyRef.key);
    else if (ref.configMapKeyRef) env[item.name] = configValue(ref.configMapKeyRef.name, ref.configMapKeyRef.key);
    else if (ref.fieldRef?.fieldPath === 'metadata.name') env[item.name] = podName;
    else throw new Error(`unhandled valueFrom for ${item.name}`);
  }
  return env;
}

/** Variable names the container gets from the manifest itself (not the image). */
function declaredEnvNames(objects: K8sObject[], container: any): string[] { // eslint-disable-line @typescript-eslint/no-explicit-any
  const names: string[] = (container.env ?? []).map((e: { name: string }) => e.name);
  for (const from of container.envFrom ?? []) {
    const source = from.configMapRef ? findGenerated(objects, 'ConfigMap', from.configMapRef.name) : findGenerated(objects, 'Secret', from.secretRef.name);
    names.push(...Object.keys(source.data ?? {}));
  }
  return names;
}

test.each(OVERLAYS.map((o) => o.name))('overlay %s: every object validates against the Kubernetes API schemas', async (name) => {
  const objects = rendered.get(name)!;
  const errors = await validateK8s(objects);
  expect(objects.map((o, i) => ({ object: `${o.kind}/${o.metadata.name}`, errors: errors[i] })).filter((r) => r.errors!.length)).toEqual([]);
  for (const o of objects) {
    expect({ object: `${o.kind}/${o.metadata.name}`, namespace: o.metadata.namespace }).toEqual({
      object: `${o.kind}/${o.metadata.name}`,
      namespace: CLUSTER_SCOPED.includes(o.kind) ? undefined : NAMESPACE,
    });
  }
});

test('the schema check catches a broken manifest (so passing means something)', async () => {
  const deployment = structuredClone(find(rendered.get('nats')!, 'Deployment', 'docker-chat'));
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'http';
  delete deployment.spec.selector;
  const [errors] = await validateK8s([deployment]);
  expect(errors!.join('\n')).toMatch(/containerPort must be integer/);
  expect(errors!.join('\n')).toMatch(/selector/);
});

describe.each(OVERLAYS)('overlay $name', ({ name, broker, service, port }) => {
  const objects = () => rendered.get(name)!;

  test('the chat container sets only variables src/config reads, and boots with them', () => {
    const container = appContainer(objects());
    expect(declaredEnvNames(objects(), container).filter((v) => !(ENV_VARS as readonly string[]).includes(v))).toEqual([]);
    const config = loadConfig(effectiveEnv(objects(), container));
    expect(config.env).toBe('production');
    expect(config.session.secretGenerated).toBe(false);
    expect(config.instanceName).toBe('docker-chat-7d9f-abcde');
    expect(config.broker.kind).toBe(broker);
    const target = config.broker.kind === 'nats' ? config.broker.servers[0]! : config.broker.kind === 'none' ? '' : config.broker.url;
    // The broker URL names a Service of this overlay, on a port it serves.
    expect(new URL(target).host).toBe(`${service}:${port}`);
    expect(find(objects(), 'Service', service).spec.ports.map((p: { port: number }) => p.port)).toContain(port);
    const mongoUrl = new URL(config.mongo!.url);
    expect(mongoUrl.host).toBe('mongo:27017');
    expect(find(objects(), 'Service', 'mongo').spec.ports[0].port).toBe(27017);
  });

  test('rate limits are counted once for all replicas: in the broker\'s Redis, or in a Redis of their own', () => {
    const config = loadConfig(effectiveEnv(objects(), appContainer(objects())));
    const counters = new URL(config.rateLimits.redisUrl!);
    expect(find(objects(), 'Service', counters.hostname).spec.ports.map((p: { port: number }) => p.port)).toContain(Number(counters.port));
  });

  test('credentials live in Secrets: no ConfigMap holds a password, and the app and MongoDB read the same ones', () => {
    for (const cm of objects().filter((o) => o.kind === 'ConfigMap' && !o.metadata.name.startsWith('mongo-init'))) {
      for (const [key, value] of Object.entries<string>(cm.data ?? {})) {
        expect({ key, suspicious: /PASS|SECRET|TOKEN|CREDENTIAL/i.test(key) || /\/\/[^/@\s]+:[^/@\s]+@/.test(value) }).toEqual({ key, suspicious: false });
      }
    }
    const env = effectiveEnv(objects(), appContainer(objects()));
    const mongo = find(objects(), 'StatefulSet', 'mongo').spec.template.spec.containers[0];
    const mongoEnv = effectiveEnv(objects(), mongo);
    expect(env.MONGO_USERNAME).toBe(mongoEnv.MONGO_DB_APP_USERNAME);
    expect(env.MONGO_PASSWORD).toBe(mongoEnv.MONGO_DB_APP_PASSWORD);
    expect(env.MONGO_DATABASE).toBe(mongoEnv.MONGO_DB_APP_DATABASE);
    expect(mongoEnv.MONGO_INITDB_DATABASE).toBe(mongoEnv.MONGO_DB_APP_DATABASE);
    expect(mongoEnv.MONGO_INITDB_ROOT_PASSWORD).toBeTruthy();
  });

  test('the Deployment: image, port and probes agree with the Dockerfile and the app; non-root; drains on stop', () => {
    const deployment = find(objects(), 'Deployment', 'docker-chat');
    const pod = deployment.spec.template.spec;
    const container = appContainer(objects());
    expect(container.image.split(':')[0]).toBe('docker-chat');
    expect(container.ports).toEqual([
      { name: 'http', containerPort: EXPOSED },
      { name: 'metrics', containerPort: loadConfig(effectiveEnv(objects(), container)).metricsPort },
    ]);
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(container.resources.requests.cpu).toBeTruthy(); // the HPA computes utilisation from it
    expect(container.resources.limits.memory).toBeTruthy();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    // preStop sleep, then SIGTERM and src/main.ts's 10 s drain, all inside the grace period.
    const preStop = Number(container.lifecycle.preStop.exec.command.at(-1));
    expect(preStop).toBeGreaterThan(0);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(preStop + 10);
    // Avatars on the shared claim, mounted where STORAGE_VOLUME points.
    const uploads = pod.volumes.find((v: { name: string }) => v.name === container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/uploads').name);
    const claim = find(objects(), 'PersistentVolumeClaim', uploads.persistentVolumeClaim.claimName);
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(effectiveEnv(objects(), container).STORAGE_VOLUME).toBe('/uploads');
  });

  test('Service, PodDisruptionBudget, HPA and the Traefik IngressRoute all point at the chat pods', () => {
    const deployment = find(objects(), 'Deployment', 'docker-chat');
    const podLabels = deployment.spec.template.metadata.labels;
    const selects = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    const svc = find(objects(), 'Service', 'docker-chat');
    expect(selects(svc.spec.selector)).toBe(true);
    expect(svc.spec.ports[0].targetPort).toBe('http');
    expect(selects(find(objects(), 'PodDisruptionBudget', 'docker-chat').spec.selector.matchLabels)).toBe(true);
    const hpa = find(objects(), 'HorizontalPodAutoscaler', 'docker-chat');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'docker-chat' });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(deployment.spec.replicas).toBeUndefined(); // the HPA owns it
    // The default ingress: Traefik's IngressRoute with a sticky cookie (ingress-nginx is retired).
    expect(objects().filter((o) => o.kind === 'Ingress')).toEqual([]);
    const target = find(objects(), 'IngressRoute', 'docker-chat').spec.routes[0].services[0];
    expect(target).toEqual(expect.objectContaining({ name: 'docker-chat', port: svc.spec.ports[0].name }));
    expect(target.sticky.cookie).toEqual(expect.objectContaining({ name: 'chat_affinity', httpOnly: true }));
  });

  test('MongoDB: a StatefulSet with a volume claim and the init script', () => {
    const sts = find(objects(), 'StatefulSet', 'mongo');
    expect(sts.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    const mounts = sts.spec.template.spec.containers[0].volumeMounts;
    const init = sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === mounts.find((m: { mountPath: string }) => m.mountPath === '/docker-entrypoint-initdb.d').name);
    const scripts = find(objects(), 'ConfigMap', init.configMap.name).data;
    expect(Object.keys(scripts).some((k) => k.endsWith('.js'))).toBe(true);
  });
});

test('the init script in k8s/ is the one in mongo-init/ (kustomize cannot read outside k8s/, so it is a copy)', () => {
  const dir = path.join(ROOT, 'mongo-init');
  const originals = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.js')) : [];
  expect(originals.length).toBeGreaterThan(0);
  const objects = rendered.get('nats')!;
  const sts = find(objects, 'StatefulSet', 'mongo').spec.template.spec;
  const scripts = find(objects, 'ConfigMap', sts.volumes.find((v: { configMap?: unknown }) => v.configMap).configMap.name).data;
  for (const file of originals) expect(scripts[file]).toBe(readFileSync(path.join(dir, file), 'utf8'));
  expect(Object.keys(scripts).sort()).toEqual(originals.sort());
});

test('components: GlusterFS over NFS-Ganesha, the uploads browser and the legacy ingress-nginx validate and fit together', async () => {
  const errors = await validateK8s(extras);
  expect(extras.map((o, i) => ({ object: `${o.kind}/${o.metadata.name}`, errors: errors[i] })).filter((r) => r.errors!.length)).toEqual([]);

  const claim = find(extras, 'PersistentVolumeClaim', 'chat-uploads');
  const pv = find(extras, 'PersistentVolume', claim.spec.volumeName);
  expect(claim.spec.storageClassName).toBe('');
  expect(pv.spec.claimRef).toEqual({ namespace: NAMESPACE, name: 'chat-uploads' });
  expect(pv.spec.accessModes).toEqual(['ReadWriteMany']);
  // The Gluster volume through its NFS-Ganesha export, not the in-tree glusterfs type (gone since 1.26).
  expect(pv.spec.glusterfs).toBeUndefined();
  expect(pv.spec.nfs).toEqual({ server: expect.any(String), path: '/chat-uploads' });
  expect(extras.filter((o) => o.kind === 'Endpoints')).toEqual([]);

  const browser = find(extras, 'Deployment', 'uploads-browser').spec.template.spec;
  const volume = browser.volumes.find((v: { persistentVolumeClaim?: unknown }) => v.persistentVolumeClaim);
  expect(volume.persistentVolumeClaim).toEqual({ claimName: 'chat-uploads', readOnly: true });
  expect(browser.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name).readOnly).toBe(true);

  // The legacy ingress-nginx component still fits, for clusters that have not moved yet.
  const ingress = find(extras, 'Ingress', 'docker-chat');
  expect(ingress.metadata.annotations).toEqual(expect.objectContaining({ 'nginx.ingress.kubernetes.io/affinity': 'cookie' }));
  expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'docker-chat', port: { name: 'http' } });
});
