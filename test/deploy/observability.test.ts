import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { startServer } from '../helpers/server';
import { composeConfig, findTool, kustomizeBuild, ROOT, validateK8s, type K8sObject } from './tools';

/**
 * The observability deployment: the Grafana dashboard asks only for metrics the
 * app serves, the Prometheus configurations load in Prometheus's own checker,
 * and the compose profile and the Kubernetes component wire them up.
 */
const run = promisify(execFile);
const DASHBOARD = 'observability/grafana/dashboards/docker-chat.json';

/** PromQL words that are not metric names. */
const PROMQL = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/** The metric names a PromQL expression reads. */
function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"[^"]*"/g, '') // label values
    .replace(/\{[^}]*\}/g, '') // matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, ''); // grouping labels
  const names: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    if (match[1] || PROMQL.has(match[0])) continue; // a function call, or a keyword
    names.push(match[0]);
  }
  return names;
}

function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(readFileSync(path.join(ROOT, DASHBOARD), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

test('the expression parser finds metric names and nothing else', () => {
  expect(metricsIn('histogram_quantile(0.95, sum by (le, event) (rate(chat_ack_duration_seconds_bucket{event="x"}[5m])))')).toEqual([
    'chat_ack_duration_seconds_bucket',
  ]);
  expect(metricsIn('min by (instance) (chat_store_up) or count(chat_replica_info)')).toEqual(['chat_store_up', 'chat_replica_info']);
});

test('every metric the Grafana dashboard queries is served at /metrics', async () => {
  const app = await startServer();
  try {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const served = (name: string) => {
      if (types.has(name)) return true;
      const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
      return histogram !== null && types.get(histogram[1]!) === 'histogram';
    };
    const queried = [...new Set(dashboardExpressions().flatMap(metricsIn))].sort();
    // The list: connections, people, messages, broker traffic, errors, latencies, health, Node.js.
    expect(queried).toEqual(
      expect.arrayContaining([
        'chat_connected_sockets',
        'chat_connected_people',
        'chat_messages_sent_total',
        'chat_broker_broadcasts_total',
        'chat_request_errors_total',
        'chat_ack_duration_seconds_bucket',
        'chat_broker_delivery_seconds_bucket',
        'chat_store_up',
        'chat_broker_up',
        'process_resident_memory_bytes',
      ]),
    );
    expect(queried.filter((name) => !served(name))).toEqual([]);
  } finally {
    await app.close();
  }
});

test('the Kubernetes component ships the same dashboard and Grafana provisioning as compose', () => {
  const pairs = [
    ['observability/grafana/dashboards/docker-chat.json', 'k8s/components/observability/grafana/docker-chat.json'],
    ['observability/grafana/provisioning/datasources/prometheus.yaml', 'k8s/components/observability/grafana/datasource.yaml'],
    ['observability/grafana/provisioning/dashboards/docker-chat.yaml', 'k8s/components/observability/grafana/dashboards.yaml'],
  ];
  for (const [original, copy] of pairs) {
    expect({ copy, same: readFileSync(path.join(ROOT, copy!), 'utf8') === readFileSync(path.join(ROOT, original!), 'utf8') }).toEqual({
      copy,
      same: true,
    });
  }
});

test.each(['observability/prometheus/prometheus.yml', 'k8s/components/observability/prometheus.yml'])(
  '%s passes promtool check config',
  async (file) => {
    const promtool = findTool('PROMTOOL_BIN', 'promtool');
    const { stdout } = await run(promtool, ['check', 'config', '--syntax-only', file], { cwd: ROOT });
    expect(stdout).toContain('SUCCESS');
  },
);

test('promtool refuses a broken configuration (the check can fail)', async () => {
  const promtool = findTool('PROMTOOL_BIN', 'promtool');
  const dir = mkdtempSync(path.join(tmpdir(), 'promtool-'));
  try {
    const config = parse(readFileSync(path.join(ROOT, 'observability/prometheus/prometheus.yml'), 'utf8'));
    config.scrape_configs[0].docker_sd_configs[0].refresh_interval = 'soon';
    writeFileSync(path.join(dir, 'prometheus.yml'), JSON.stringify(config));
    await expect(run(promtool, ['check', 'config', '--syntax-only', path.join(dir, 'prometheus.yml')])).rejects.toThrow();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe.each(['docker-compose.yaml', 'docker-compose.redis.yaml', 'docker-compose.rabbit.yaml', 'docker-compose.nats.yaml'])(
  '%s with --profile observability',
  (file) => {
    test('adds Prometheus (Docker discovery of the app, scraping METRICS_PORT) and Grafana with the dashboard; without the profile neither', async () => {
      expect(Object.keys((await composeConfig(file)).services)).not.toEqual(expect.arrayContaining(['prometheus']));
      const project = await composeConfig(file, ['observability']);
      const { prometheus, grafana, app } = project.services;
      expect(prometheus && grafana).toBeTruthy();
      const mount = (service: typeof prometheus, target: string) => service!.volumes!.find((v) => v.target === target);
      expect(mount(prometheus, '/etc/prometheus/prometheus.yml')!.source).toBe(path.join(ROOT, 'observability/prometheus/prometheus.yml'));
      expect(mount(prometheus, '/var/run/docker.sock')!.read_only).toBe(true);
      expect(mount(grafana, '/var/lib/grafana/dashboards')!.source).toBe(path.join(ROOT, 'observability/grafana/dashboards'));
      expect(mount(grafana, '/etc/grafana/provisioning')!.source).toBe(path.join(ROOT, 'observability/grafana/provisioning'));

      // Prometheus scrapes the app's METRICS_PORT on each container the `app` service runs.
      const config = parse(readFileSync(path.join(ROOT, 'observability/prometheus/prometheus.yml'), 'utf8'));
      const job = config.scrape_configs[0];
      expect(job.docker_sd_configs[0].filters).toEqual([{ name: 'label', values: ['com.docker.compose.service=app'] }]);
      expect(job.relabel_configs[0].replacement).toBe(`$1:${app!.environment!.METRICS_PORT}`);
      const datasource = parse(readFileSync(path.join(ROOT, 'observability/grafana/provisioning/datasources/prometheus.yaml'), 'utf8'));
      expect(datasource.datasources[0].url).toBe('http://prometheus:9090');
    });
  },
);

test('the Kubernetes component validates: Prometheus may read pods, Grafana mounts the dashboard ConfigMap', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'k8s-observability-'));
  let objects: K8sObject[];
  try {
    writeFileSync(
      path.join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'namespace: docker-chat',
        `resources: [${path.relative(dir, path.join(ROOT, 'k8s/overlays/redis'))}]`,
        `components: [${path.relative(dir, path.join(ROOT, 'k8s/components/observability'))}]`,
      ].join('\n'),
    );
    objects = await kustomizeBuild(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const errors = await validateK8s(objects);
  expect(objects.map((o, i) => ({ object: `${o.kind}/${o.metadata.name}`, errors: errors[i] })).filter((r) => r.errors!.length)).toEqual([]);

  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name.startsWith(name))!;
  const dashboard = find('ConfigMap', 'docker-chat-dashboard');
  expect(dashboard.metadata.labels?.grafana_dashboard).toBe('1');
  expect(JSON.parse(dashboard.data['docker-chat.json']).uid).toBe('docker-chat');
  const grafana = find('Deployment', 'grafana').spec.template.spec;
  expect(grafana.volumes.find((v: { name: string }) => v.name === 'dashboards').configMap.name).toBe(dashboard.metadata.name);

  const role = find('Role', 'prometheus');
  expect(role.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
  expect(find('RoleBinding', 'prometheus').subjects).toEqual([{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'docker-chat' }]);
  // The chat's pods carry the annotations the component's scrape configuration keeps.
  const annotations = find('Deployment', 'docker-chat').spec.template.metadata.annotations;
  expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9464' });
});
