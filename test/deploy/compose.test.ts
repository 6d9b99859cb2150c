import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { ENV_VARS, loadConfig, type BrokerKind } from '../../src/config';
import { composeConfig, ROOT, type ComposeProject, type ComposeService } from './tools';

/**
 * The compose files, as Docker Compose itself resolves them (includes, extends,
 * defaults). No Docker engine here: these checks are what `up` would rely on.
 */

const SCALABLE: { file: string; broker: Exclude<BrokerKind, 'none'>; service: string; port: number; dashboard?: number; limits?: boolean }[] = [
  { file: 'docker-compose.redis.yaml', broker: 'redis', service: 'redis', port: 6379 },
  // Without Redis as the broker, a Redis of their own holds the shared rate-limit counters.
  { file: 'docker-compose.rabbit.yaml', broker: 'rabbitmq', service: 'rabbitmq', port: 5672, dashboard: 15672, limits: true },
  { file: 'docker-compose.nats.yaml', broker: 'nats', service: 'nats', port: 4222, dashboard: 8222, limits: true },
];
const BASIC = 'docker-compose.yaml';
const ALL = [BASIC, ...SCALABLE.map((s) => s.file)];

/**
 * Variables set on containers that are not the chat server: each image reads its own.
 * The chat server may set only ENV_VARS (src/config), so a typo there fails.
 */
const IMAGE_VARS: Record<string, string[]> = {
  mongo: [
    'MONGO_INITDB_ROOT_USERNAME',
    'MONGO_INITDB_ROOT_PASSWORD',
    'MONGO_INITDB_DATABASE',
    // Read by mongo-init/*.js to create the app's user.
    'MONGO_DB_APP_DATABASE',
    'MONGO_DB_APP_USERNAME',
    'MONGO_DB_APP_PASSWORD',
  ],
  rabbitmq: ['RABBITMQ_DEFAULT_USER', 'RABBITMQ_DEFAULT_PASS'],
};

const projects = new Map<string, ComposeProject>();
beforeAll(async () => {
  await Promise.all(ALL.map(async (file) => projects.set(file, await composeConfig(file))));
});
const project = (file: string) => projects.get(file)!;

/** The chat server is the service built from this repository's Dockerfile. */
function appOf(p: ComposeProject): [string, ComposeService] {
  const built = Object.entries(p.services).filter(([, s]) => s.build?.context === ROOT);
  expect(built.map(([name]) => name)).toEqual(['app']);
  expect(built[0]![1].build!.dockerfile).toBe('Dockerfile');
  return built[0]!;
}

const env = (s: ComposeService) => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, v ?? '']));
const imageName = (s: ComposeService) => (s.image ?? '').split(':')[0]!.split('/').pop()!;
const readYaml = (file: string) => parse(readFileSync(path.join(ROOT, file), 'utf8')) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// The Compose spec's JSON schema, as shipped by dclint. It names the https draft-07
// meta-schema, which Ajv does not carry; formats are left to Compose.
const validateCompose = new Ajv({ strict: false, allErrors: true, validateSchema: false, validateFormats: false }).compile(
  JSON.parse(readFileSync(path.join(ROOT, 'node_modules', 'dclint', 'schemas', 'compose.schema.json'), 'utf8')),
);

test.each([...ALL, 'compose/app.yaml', 'compose/data.yaml', 'compose/traefik.yaml'])('%s follows the Compose specification', (file) => {
  const validate = validateCompose;
  expect(validate(readYaml(file)) ? [] : validate.errors).toEqual([]);
});

test.each(ALL)('%s: the chat server sets only variables src/config reads, other images only their own', (file) => {
  for (const [name, service] of Object.entries(project(file).services)) {
    const vars = Object.keys(service.environment ?? {});
    if (name === appOf(project(file))[0]) {
      expect(vars.filter((v) => !(ENV_VARS as readonly string[]).includes(v))).toEqual([]);
    } else {
      const known = IMAGE_VARS[imageName(service)] ?? [];
      expect({ service: name, unknown: vars.filter((v) => !known.includes(v)) }).toEqual({ service: name, unknown: [] });
    }
  }
});

test.each(ALL)('%s: the chat server boots with this environment and reaches the MongoDB user mongo-init creates', (file) => {
  const p = project(file);
  const [, app] = appOf(p);
  // The Dockerfile's ENV comes first, as in the container.
  const config = loadConfig({ ...dockerfileEnv(), ...env(app) });
  expect(config.env).toBe('production');
  expect(config.session.secretGenerated).toBe(false);
  expect(config.storageVolume).toBe('/uploads');
  const mongo = env(p.services.mongo!);
  const url = new URL(config.mongo!.url);
  expect(url.host).toBe('mongo:27017');
  expect(decodeURIComponent(url.username)).toBe(mongo.MONGO_DB_APP_USERNAME);
  expect(decodeURIComponent(url.password)).toBe(mongo.MONGO_DB_APP_PASSWORD);
  expect(url.pathname).toBe(`/${mongo.MONGO_DB_APP_DATABASE}`);
  expect(mongo.MONGO_INITDB_DATABASE).toBe(mongo.MONGO_DB_APP_DATABASE);
});

test.each(ALL)('%s: MongoDB is the official image with mongo-init/, a named data volume and a healthcheck the app waits for', (file) => {
  const p = project(file);
  const mongo = p.services.mongo!;
  expect(mongo.image).toMatch(/^mongo:\d/);
  expect(mongo.volumes).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ type: 'volume', source: 'mongo-data', target: '/data/db' }),
      expect.objectContaining({ type: 'bind', source: path.join(ROOT, 'mongo-init'), target: '/docker-entrypoint-initdb.d', read_only: true }),
    ]),
  );
  expect(p.volumes).toHaveProperty('mongo-data');
  expect(mongo.healthcheck?.test.join(' ')).toContain('ping');
  expect(appOf(p)[1].depends_on?.mongo).toEqual(expect.objectContaining({ condition: 'service_healthy' }));
});

test('mongo-init/ holds the mongosh script the mongo image runs', () => {
  expect(readdirSync(path.join(ROOT, 'mongo-init')).filter((f) => f.endsWith('.js')).length).toBeGreaterThan(0);
});

test.each(ALL)('%s: every service has a healthcheck; the app\'s asks /healthz on the port the Dockerfile exposes', (file) => {
  for (const [name, service] of Object.entries(project(file).services)) {
    expect({ name, healthcheck: Boolean(service.healthcheck?.test?.length) && !service.healthcheck?.disable }).toEqual({ name, healthcheck: true });
  }
  const [, app] = appOf(project(file));
  expect(app.healthcheck!.test.join(' ')).toContain(`127.0.0.1:${dockerfileEnv().PORT}/healthz`);
});

test('basic: one app on http://localhost:8888, avatars on a named volume', () => {
  const p = project(BASIC);
  expect(Object.keys(p.services).sort()).toEqual(['app', 'mongo']);
  const [, app] = appOf(p);
  expect(app.ports).toEqual([expect.objectContaining({ target: 3000, published: '8888' })]);
  expect(app.volumes).toEqual([expect.objectContaining({ type: 'volume', source: 'uploads', target: '/uploads' })]);
  expect(loadConfig({ ...dockerfileEnv(), ...env(app) }).broker.kind).toBe('none');
});

describe.each(SCALABLE)('$file', ({ file, broker, service, port, dashboard, limits }) => {
  test('selects its broker, and only it', () => {
    const p = project(file);
    const [, app] = appOf(p);
    const config = loadConfig({ ...dockerfileEnv(), ...env(app) });
    expect(config.broker.kind).toBe(broker);
    const target = config.broker.kind === 'nats' ? config.broker.servers[0]! : config.broker.kind === 'none' ? '' : config.broker.url;
    expect(new URL(target).host).toBe(`${service}:${port}`);
    expect(Object.keys(p.services).sort()).toEqual(['app', 'mongo', service, 'traefik', ...(limits ? ['limits'] : [])].sort());
    expect(app.depends_on?.[service]).toEqual(expect.objectContaining({ condition: 'service_healthy' }));
  });

  test('rate limits are counted once for all replicas', () => {
    const [, app] = appOf(project(file));
    const config = loadConfig({ ...dockerfileEnv(), ...env(app) });
    expect(config.rateLimits.redisUrl).toBe(limits ? 'redis://limits:6379' : config.broker.kind === 'redis' ? config.broker.url : null);
    if (limits) expect(app.depends_on?.limits).toEqual(expect.objectContaining({ condition: 'service_healthy' }));
  });

  test('scales: no host port, no fixed container name, one shared named volume on /uploads', () => {
    const p = project(file);
    const [, app] = appOf(p);
    expect(app.ports ?? []).toEqual([]);
    expect(app.container_name).toBeUndefined();
    expect(app.volumes).toEqual([expect.objectContaining({ type: 'volume', source: 'uploads', target: '/uploads' })]);
    expect(p.volumes?.uploads?.driver ?? 'local').toBe('local');
    expect(env(app).STORAGE_VOLUME).toBe('/uploads');
  });

  test('Traefik routes app.docker.localhost and localhost to port 3000 with a sticky cookie', () => {
    const p = project(file);
    const labels = appOf(p)[1].labels ?? {};
    expect(labels['traefik.enable']).toBe('true');
    const rule = Object.entries(labels).find(([k]) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(k))?.[1] ?? '';
    expect(rule).toContain('Host(`app.docker.localhost`)');
    expect(rule).toContain('Host(`localhost`)');
    const lb = (key: string) => Object.entries(labels).find(([k]) => new RegExp(`^traefik\\.http\\.services\\.[^.]+\\.loadbalancer\\.${key}$`).test(k))?.[1];
    expect(lb('server\\.port')).toBe(dockerfileEnv().PORT);
    expect(lb('sticky\\.cookie')).toBe('true');
    expect(lb('sticky\\.cookie\\.name')).toBeTruthy();
    expect(lb('healthcheck\\.path')).toBe('/readyz');
    // The app trusts exactly the one proxy hop, so Secure cookies work behind it.
    expect(env(appOf(p)[1]).TRUST_PROXY).toBe('1');

    const traefik = p.services.traefik!;
    expect(traefik.image).toMatch(/^traefik:v3/);
    expect(traefik.ports?.map((x) => x.target).sort()).toEqual([80, 8080]);
    expect(traefik.volumes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ source: path.join(ROOT, 'traefik', 'traefik.yml'), target: '/etc/traefik/traefik.yml', read_only: true }),
        expect.objectContaining({ source: '/var/run/docker.sock', read_only: true }),
      ]),
    );
  });

  if (dashboard) {
    test(`publishes the broker's dashboard on :${dashboard}, and nothing else of it`, () => {
      expect(project(file).services[service]!.ports?.map((x) => [x.target, x.published])).toEqual([[dashboard, String(dashboard)]]);
    });
  }

  test('shares its parts: data and Traefik included, the app extended from compose/app.yaml', () => {
    const raw = readYaml(file);
    expect(raw.include).toEqual(['compose/data.yaml', 'compose/observability.yaml', 'compose/traefik.yaml', ...(limits ? ['compose/limits.yaml'] : [])]);
    expect(raw.services.app.extends).toEqual({ file: 'compose/app.yaml', service: 'scalable' });
    // Nothing pasted: the file itself defines only the app's broker settings and the broker.
    expect(Object.keys(raw.services).sort()).toEqual(['app', service].sort());
    expect(Object.keys(raw.services.app).sort()).toEqual(['depends_on', 'environment', 'extends']);
    expect(Object.keys(raw.services.app.environment).every((k) => k === 'BROKER' || /^(REDIS|RABBIT|NATS|RATE_LIMIT_REDIS)_/.test(k))).toBe(true);
  });
});

test('the basic file shares the same parts', () => {
  const raw = readYaml(BASIC);
  expect(raw.include).toEqual(['compose/data.yaml', 'compose/observability.yaml']);
  expect(raw.services.app.extends).toEqual({ file: 'compose/app.yaml', service: 'app' });
  expect(Object.keys(raw.services)).toEqual(['app']);
  // depends_on is not inherited through extends, so the templates must not rely on it.
  for (const service of Object.values(readYaml('compose/app.yaml').services) as ComposeService[]) {
    expect(service.depends_on).toBeUndefined();
  }
});

test('traefik/traefik.yml: web on :80, dashboard on :8080, only labelled containers', () => {
  const config = readYaml('traefik/traefik.yml');
  expect(config.entryPoints.web.address).toBe(':80');
  expect(config.entryPoints.traefik.address).toBe(':8080');
  expect(config.providers.docker.exposedByDefault).toBe(false);
  expect(config.api.dashboard).toBe(true);
  expect(config).toHaveProperty('ping'); // the container healthcheck uses it
  const labels = appOf(project(SCALABLE[0]!.file))[1].labels!;
  expect(labels['traefik.http.routers.chat.entrypoints']).toBe('web');
});

test('every ${VAR} has a default, so a fresh checkout starts without .env', () => {
  for (const file of [...ALL, 'compose/app.yaml', 'compose/data.yaml', 'compose/traefik.yaml']) {
    const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/\$\$/g, '');
    const bare = [...text.matchAll(/\$\{([A-Z0-9_]+)(:?-)?[^}]*\}|\$([A-Z_][A-Z0-9_]*)/g)].filter((m) => !m[2]).map((m) => m[1] ?? m[3]);
    expect({ file, bare }).toEqual({ file, bare: [] });
  }
});

/** ENV lines of the Dockerfile's last stage: what every container starts with. */
export function dockerfileEnv(): Record<string, string> {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const lastStage = text.split(/^FROM /m).pop()!;
  const result: Record<string, string> = {};
  for (const line of lastStage.split('\n').filter((l) => l.startsWith('ENV '))) {
    for (const [, key, value] of line.slice(4).matchAll(/([A-Z_]+)=(\S+)/g)) result[key!] = value!;
  }
  return result;
}
