import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { createMemoryStore } from '../../src/store/memory';
import { connect, expectOk, request, signIn, type ChatClient } from '../helpers/client';
import { brokerEnv, waitFor } from '../helpers/cluster';
import { startServer } from '../helpers/server';
import { composeConfig, findTool, kustomizeBuild, ROOT, validateK8s, type K8sObject } from './tools';

/**
 * The observability deployment: the Grafana dashboard asks only for metrics and
 * labels the app serves, the Prometheus configurations load in Prometheus's own
 * checker, and the compose profile and the Kubernetes component wire them up.
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
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // grouping and joining labels
  const names: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    if (match[1] || PROMQL.has(match[0])) continue; // a function call, or a keyword
    names.push(match[0]);
  }
  return names;
}

/** The labels each metric of a PromQL expression is matched, grouped or joined on. */
function labelsIn(expr: string): Map<string, Set<string>> {
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""'); // label values, which may hold anything
  const used = new Map<string, Set<string>>();
  const add = (metrics: string[], labels: string[]) => {
    for (const metric of metrics) for (const label of labels) used.set(metric, (used.get(metric) ?? new Set()).add(label));
  };
  const list = (labels: string) => labels.split(',').map((l) => l.trim()).filter(Boolean);
  for (const [, metric, matchers] of text.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}/g)) {
    add([metric!], [...matchers!.matchAll(/([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!));
  }
  // `sum by (l) (inner)` or `sum (inner) by (l)`: the labels are those of the metrics inside.
  for (const match of text.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    const end = match.index + match[0].length;
    const next = text.slice(end).search(/\S/) + end;
    const inner = text[next] === '(' ? group(text, next) : group(text, openingOf(text, text.slice(0, match.index).trimEnd().length - 1));
    add(metricsIn(inner), list(match[1]!));
  }
  // `a / on (l) b`: both sides need the labels (a close enough reading for a dashboard check).
  for (const match of text.matchAll(/\b(?:on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g)) add(metricsIn(text), list(match[1]!));
  return used;
}

/** The text inside the parentheses opening at `open`. */
function group(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`unbalanced parentheses in ${text}`);
}

/** Where the parenthesis that `close` closes opens. */
function openingOf(text: string, close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (text[i] === ')') depth++;
    if (text[i] === '(' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses in ${text}`);
}

interface Panel {
  targets?: { expr: string }[];
  /** A collapsed row keeps its panels inside it. */
  panels?: Panel[];
}

function dashboardExpressions(dashboard: { panels: Panel[] }): string[] {
  const walk = (panels: Panel[]): string[] =>
    panels.flatMap((panel) => [...(panel.targets ?? []).map((target) => target.expr), ...walk(panel.panels ?? [])]);
  return walk(dashboard.panels);
}

/** The label names of each series name in a /metrics answer (histograms as their _bucket, _sum and _count). */
function seriesLabels(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const sample = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) continue;
    const labels = series.get(sample[1]!) ?? new Set<string>();
    for (const [, label] of (sample[2] ?? '').matchAll(/([A-Za-z_]\w*)="/g)) labels.add(label!);
    series.set(sample[1]!, labels);
  }
  return series;
}

/** Prometheus adds these to every series it scrapes (the dashboard groups by instance). */
const TARGET_LABELS = new Set(['instance', 'job']);

test('the expression parser finds metric names and nothing else', () => {
  expect(metricsIn('histogram_quantile(0.95, sum by (le, event) (rate(chat_ack_duration_seconds_bucket{event="x"}[5m])))')).toEqual([
    'chat_ack_duration_seconds_bucket',
  ]);
  expect(metricsIn('min by (instance) (chat_store_up) or count(chat_replica_info)')).toEqual(['chat_store_up', 'chat_replica_info']);
});

test('the label parser finds matchers, by/without lists (before or after their expression) and on/ignoring lists', () => {
  const labels = (expr: string) => Object.fromEntries([...labelsIn(expr)].map(([metric, set]) => [metric, [...set].sort()]));
  expect(labels('histogram_quantile(0.5, sum by (le, broker) (rate(chat_x_bucket{event="a,b", code!~"x"}[5m])))')).toEqual({
    chat_x_bucket: ['broker', 'code', 'event', 'le'],
  });
  expect(labels('sum(rate(a[1m])) by (code) + min without (pod) (b)')).toEqual({ a: ['code'], b: ['pod'] });
  expect(labels('a / on (instance) group_left (version) b')).toEqual({ a: ['instance', 'version'], b: ['instance', 'version'] });
});

test('the dashboard reader looks inside collapsed rows', () => {
  const dashboard = { panels: [{ targets: [{ expr: 'a' }] }, { panels: [{ targets: [{ expr: 'b' }] }, { targets: [{ expr: 'c' }] }] }] };
  expect(dashboardExpressions(dashboard)).toEqual(['a', 'b', 'c']);
});

test('every metric the Grafana dashboard queries is served at /metrics, with every label the query uses', async () => {
  // prom-client prints a labelled series only once it has a value: two replicas over Redis and
  // some chat between them (a message across, an error ack) give every series the dashboard reads.
  const env = brokerEnv('redis');
  const store = createMemoryStore();
  const [a, b] = await Promise.all([startServer({ env, store }), startServer({ env, store })]);
  const sockets: ChatClient[] = [];
  try {
    for (const app of [a, b]) sockets.push(await connect(app.url, (await signIn(app.url, `Watcher${sockets.length}`)).cookie));
    const [onA, onB] = sockets as [ChatClient, ChatClient];
    const general = expectOk(await request(onA, 'room:list')).rooms[0]!.id;
    for (const socket of sockets) expectOk(await request(socket, 'room:join', { roomId: general }));
    expect(await request(onB, 'message:send', { roomId: 'not-a-room', text: 'refused' })).toMatchObject({ ok: false });
    const metricsOfB = async () => (await fetch(`${b.url}/metrics`)).text();
    await waitFor(() => b.server.cluster.view('member').replicas.length === 2, 'the replicas to see each other');
    expectOk(await request(onA, 'message:send', { roomId: general, text: 'counted on B' }));
    await waitFor(async () => /^chat_message_delivery_seconds_count\{[^}]*\} [1-9]/m.test(await metricsOfB()), 'the delivery on B');

    const text = await metricsOfB();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const served = (name: string) => {
      if (types.has(name)) return true;
      const histogram = /^(.*)_(bucket|sum|count)$/.exec(name);
      return histogram !== null && types.get(histogram[1]!) === 'histogram';
    };
    const dashboard = JSON.parse(readFileSync(path.join(ROOT, DASHBOARD), 'utf8')) as { panels: Panel[] };
    const expressions = dashboardExpressions(dashboard);
    const queried = [...new Set(expressions.flatMap(metricsIn))].sort();
    // The list: connections, people, messages, broker traffic, errors, latencies, health, Node.js.
    expect(queried).toEqual(
      expect.arrayContaining([
        'chat_connected_sockets',
        'chat_connected_people',
        'chat_messages_sent_total',
        'chat_broker_broadcasts_total',
        'chat_request_errors_total',
        'chat_ack_duration_seconds_bucket',
        'chat_message_delivery_seconds_bucket',
        'chat_store_up',
        'chat_broker_up',
        'process_resident_memory_bytes',
      ]),
    );
    expect(queried.filter((name) => !served(name))).toEqual([]);

    const series = seriesLabels(text);
    const missing = expressions.flatMap((expr) =>
      [...labelsIn(expr)].flatMap(([metric, labels]) =>
        [...labels].filter((label) => !TARGET_LABELS.has(label) && !series.get(metric)?.has(label)).map((label) => ({ expr, metric, label })),
      ),
    );
    expect(missing).toEqual([]);
  } finally {
    for (const socket of sockets) socket.close();
    await Promise.all([a.close(), b.close()]);
    await store.close();
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

type WithConfigs = { configs?: Record<string, { content?: string }> };

/** The compose profile's Prometheus configuration as Compose hands it to Prometheus (the project filled in). */
async function composePrometheusConfig(file: string): Promise<string> {
  const project = (await composeConfig(file, ['observability'])) as Awaited<ReturnType<typeof composeConfig>> & WithConfigs;
  // `config` prints the content escaped for Compose again: `$$` for each `$`.
  return project.configs!.prometheus!.content!.replaceAll('$$', '$');
}

/** promtool's verdict on a configuration's text; rejects when promtool refuses it. */
async function promtoolCheck(text: string): Promise<string> {
  const promtool = findTool('PROMTOOL_BIN', 'promtool');
  const dir = mkdtempSync(path.join(tmpdir(), 'promtool-'));
  try {
    writeFileSync(path.join(dir, 'prometheus.yml'), text);
    return (await run(promtool, ['check', 'config', '--syntax-only', path.join(dir, 'prometheus.yml')])).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('k8s/components/observability/prometheus.yml passes promtool check config', async () => {
  expect(await promtoolCheck(readFileSync(path.join(ROOT, 'k8s/components/observability/prometheus.yml'), 'utf8'))).toContain('SUCCESS');
});

test('promtool refuses a broken configuration (the check can fail)', async () => {
  const config = parse(await composePrometheusConfig('docker-compose.yaml'));
  config.scrape_configs[0].docker_sd_configs[0].refresh_interval = 'soon';
  await expect(promtoolCheck(JSON.stringify(config))).rejects.toThrow();
});

describe.each(['docker-compose.yaml', 'docker-compose.redis.yaml', 'docker-compose.rabbit.yaml', 'docker-compose.nats.yaml'])(
  '%s with --profile observability',
  (file) => {
    test('adds Prometheus (Docker discovery of this project\'s app, scraping METRICS_PORT) and Grafana with the dashboard; without the profile neither', async () => {
      expect(Object.keys((await composeConfig(file)).services)).not.toEqual(expect.arrayContaining(['prometheus']));
      const project = await composeConfig(file, ['observability']);
      const { prometheus, grafana, app } = project.services;
      expect(prometheus && grafana).toBeTruthy();
      const mount = (service: typeof prometheus, target: string) => service!.volumes!.find((v) => v.target === target);
      expect((prometheus as typeof prometheus & { configs?: unknown }).configs).toEqual([{ source: 'prometheus', target: '/etc/prometheus/prometheus.yml' }]);
      expect(mount(prometheus, '/var/run/docker.sock')!.read_only).toBe(true);
      expect(mount(grafana, '/var/lib/grafana/dashboards')!.source).toBe(path.join(ROOT, 'observability/grafana/dashboards'));
      expect(mount(grafana, '/etc/grafana/provisioning')!.source).toBe(path.join(ROOT, 'observability/grafana/provisioning'));

      // Prometheus scrapes the app's METRICS_PORT on each container the `app` service of this project runs,
      // never another stack's `app` on the same Docker engine.
      const text = await composePrometheusConfig(file);
      expect(await promtoolCheck(text)).toContain('SUCCESS');
      const job = parse(text).scrape_configs[0];
      expect(job.docker_sd_configs[0].filters).toEqual([
        { name: 'label', values: ['com.docker.compose.service=app', `com.docker.compose.project=${project.name}`] },
      ]);
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
