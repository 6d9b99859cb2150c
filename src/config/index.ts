import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting the service reads, validated in one place. `loadConfig` never
 * reads anything but the env object it is given, so tests pass their own.
 * README.md ("Configuration") lists these variables; test/deploy checks that
 * compose files and manifests set no variable missing from ENV_VARS.
 */
export const ENV_VARS = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'METRICS_PORT',
  'LOG_LEVEL',
  'INSTANCE_NAME',
  'HOSTNAME',
  'SESSION_SECRET',
  'SESSION_MAX_AGE_HOURS',
  'TRUST_PROXY',
  'STORAGE_VOLUME',
  'MESSAGE_RATE_LIMIT',
  'ROOM_RATE_LIMIT',
  'SIGNIN_RATE_LIMIT',
  'MONGO_URL',
  'MONGO_USERNAME',
  'MONGO_PASSWORD',
  'MONGO_DATABASE',
  'DB_HOST',
  'DB_PORT',
  'MONGO_CONNECT_RETRIES',
  'MONGO_CONNECT_DELAY_MS',
  'MONGO_SESSION_CLEANUP',
  'BROKER',
  'REDIS_URL',
  'REDIS_HOST',
  'REDIS_PORT',
  'RABBIT_URL',
  'RABBIT_HOST',
  'NATS_URL',
  'NATS_HOST',
  'SCALABLE',
  'PARSE_MSG',
  'BROKER_CONNECT_RETRIES',
  'BROKER_CONNECT_DELAY_MS',
  'BROKER_PREFIX',
  'ADAPTER_HEARTBEAT_INTERVAL_MS',
  'ADAPTER_HEARTBEAT_TIMEOUT_MS',
] as const;

export type EnvVar = (typeof ENV_VARS)[number];
export type Env = Partial<Record<string, string | undefined>>;

export type BrokerConfig =
  | { kind: 'none' }
  | { kind: 'redis'; url: string }
  | { kind: 'rabbitmq'; url: string }
  | { kind: 'nats'; servers: string[] };

export type BrokerKind = BrokerConfig['kind'];

export interface RetryPolicy {
  /** Attempts before giving up (the first one included). */
  attempts: number;
  /** Delay after the first failure; doubles each time, capped at 30 s. */
  initialDelayMs: number;
}

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** A port of its own for GET /metrics, kept off the public one; null serves it on `port`. */
  metricsPort: number | null;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  instanceName: string;
  session: {
    secret: string;
    /** True when no SESSION_SECRET was given and one was made up for this process. */
    secretGenerated: boolean;
    maxAgeMs: number;
  };
  /** Express "trust proxy": needed for Secure cookies behind Traefik or an Ingress. */
  trustProxy: boolean | number | string;
  storageVolume: string;
  rateLimits: {
    /** Messages one person may send per 10 s on one replica. */
    messagesPer10s: number;
    /** Rooms one person may create per minute on one replica. */
    roomsPerMinute: number;
    /** Sign-in attempts per minute from one IP address. */
    signInsPerMinute: number;
  };
  mongo: null | {
    url: string;
    sessionCleanup: 'auto' | 'ttl' | 'interval';
    connect: RetryPolicy;
  };
  broker: BrokerConfig;
  brokerConnect: RetryPolicy;
  brokerPrefix: string;
  adapterHeartbeat: { intervalMs: number; timeoutMs: number };
  /** Human-readable notices about the configuration, logged at boot. */
  notices: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `a whole number from ${min} to ${max}`).max(max, `a whole number from ${min} to ${max}`));

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const url = (schemes: string[]) =>
  z.string().refine(
    (v) => {
      try {
        return schemes.includes(new URL(v).protocol.slice(0, -1));
      } catch {
        return false;
      }
    },
    { message: `a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}` },
  );

const hostPort = z.string().regex(/^[A-Za-z0-9._-]+(:\d{1,5})?$/, 'a host name, optionally with :port');

const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  METRICS_PORT: int(0, 65535).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INSTANCE_NAME: z.string().min(1).max(100).optional(),
  HOSTNAME: z.string().optional(),
  SESSION_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  SESSION_MAX_AGE_HOURS: int(1, 24 * 365).default(24 * 14),
  TRUST_PROXY: z.string().min(1).optional(),
  STORAGE_VOLUME: z.string().min(1).default('./uploads'),
  MESSAGE_RATE_LIMIT: int(1, 100_000).default(20),
  ROOM_RATE_LIMIT: int(1, 100_000).default(10),
  SIGNIN_RATE_LIMIT: int(1, 100_000).default(60),
  MONGO_URL: url(['mongodb', 'mongodb+srv']).optional(),
  MONGO_USERNAME: z.string().min(1).optional(),
  MONGO_PASSWORD: z.string().min(1).optional(),
  MONGO_DATABASE: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'a database name (letters, digits, _ and -)').optional(),
  DB_HOST: hostPort.optional(),
  DB_PORT: int(1, 65535).default(27017),
  MONGO_CONNECT_RETRIES: int(1, 1000).default(10),
  MONGO_CONNECT_DELAY_MS: int(10, 60_000).default(500),
  MONGO_SESSION_CLEANUP: z.enum(['auto', 'ttl', 'interval']).default('auto'),
  BROKER: z.enum(['none', 'redis', 'rabbitmq', 'nats']).optional(),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  REDIS_HOST: hostPort.optional(),
  REDIS_PORT: int(1, 65535).default(6379),
  RABBIT_URL: url(['amqp', 'amqps']).optional(),
  RABBIT_HOST: z.string().min(1).optional(),
  NATS_URL: z.string().min(1).optional(),
  NATS_HOST: hostPort.optional(),
  SCALABLE: bool.optional(),
  PARSE_MSG: z.string().optional(),
  BROKER_CONNECT_RETRIES: int(1, 1000).default(10),
  BROKER_CONNECT_DELAY_MS: int(10, 60_000).default(500),
  BROKER_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ and - (1-64)').default('docker-chat'),
  ADAPTER_HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(2000),
  ADAPTER_HEARTBEAT_TIMEOUT_MS: int(200, 120_000).default(4500),
});

type Parsed = z.infer<typeof schema>;

export function loadConfig(env: Env = process.env): Config {
  // Empty strings count as unset: compose files often pass `VAR=` through.
  const input = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => (ENV_VARS as readonly string[]).includes(key) && value !== ''),
  );
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const variable = String(issue.path[0] ?? 'environment');
        return `${variable}=${JSON.stringify(input[variable] ?? '')} is invalid: expected ${issue.message}`;
      }),
    );
  }
  const parsed = result.data;
  const problems: string[] = [];
  const notices: string[] = [];

  const mongo = resolveMongo(parsed, problems);
  const broker = resolveBroker(parsed, problems, notices);
  if (parsed.ADAPTER_HEARTBEAT_TIMEOUT_MS <= parsed.ADAPTER_HEARTBEAT_INTERVAL_MS) {
    problems.push('ADAPTER_HEARTBEAT_TIMEOUT_MS must be greater than ADAPTER_HEARTBEAT_INTERVAL_MS');
  }

  let secret = parsed.SESSION_SECRET;
  const secretGenerated = !secret;
  if (!secret) {
    if (parsed.NODE_ENV === 'production') {
      problems.push('SESSION_SECRET is required when NODE_ENV=production (at least 16 random characters)');
    }
    secret = randomBytes(32).toString('hex');
    notices.push('SESSION_SECRET is not set: using a random one, so sessions end when this process stops');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: parsed.NODE_ENV,
    port: parsed.PORT,
    host: parsed.HOST,
    metricsPort: parsed.METRICS_PORT ?? null,
    logLevel: parsed.LOG_LEVEL,
    instanceName: parsed.INSTANCE_NAME ?? parsed.HOSTNAME ?? hostname(),
    session: { secret, secretGenerated, maxAgeMs: parsed.SESSION_MAX_AGE_HOURS * 3_600_000 },
    trustProxy: parseTrustProxy(parsed.TRUST_PROXY),
    storageVolume: path.resolve(parsed.STORAGE_VOLUME),
    rateLimits: {
      messagesPer10s: parsed.MESSAGE_RATE_LIMIT,
      roomsPerMinute: parsed.ROOM_RATE_LIMIT,
      signInsPerMinute: parsed.SIGNIN_RATE_LIMIT,
    },
    mongo: mongo === null ? null : {
      url: mongo,
      sessionCleanup: parsed.MONGO_SESSION_CLEANUP,
      connect: { attempts: parsed.MONGO_CONNECT_RETRIES, initialDelayMs: parsed.MONGO_CONNECT_DELAY_MS },
    },
    broker,
    brokerConnect: { attempts: parsed.BROKER_CONNECT_RETRIES, initialDelayMs: parsed.BROKER_CONNECT_DELAY_MS },
    brokerPrefix: parsed.BROKER_PREFIX,
    adapterHeartbeat: {
      intervalMs: parsed.ADAPTER_HEARTBEAT_INTERVAL_MS,
      timeoutMs: parsed.ADAPTER_HEARTBEAT_TIMEOUT_MS,
    },
    notices,
  };
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value; // "loopback", a CIDR list...: Express understands these.
}

/** MONGO_URL, or the original demo's MONGO_USERNAME/MONGO_PASSWORD/MONGO_DATABASE/DB_HOST/DB_PORT. */
function resolveMongo(p: Parsed, problems: string[]): string | null {
  const legacy = p.DB_HOST !== undefined;
  if (!legacy && (p.MONGO_USERNAME || p.MONGO_PASSWORD) && !p.MONGO_URL) {
    problems.push('MONGO_USERNAME/MONGO_PASSWORD are set but DB_HOST is not: set DB_HOST (and DB_PORT) or MONGO_URL');
    return null;
  }
  if (!legacy) return p.MONGO_URL ?? null;
  if (Boolean(p.MONGO_USERNAME) !== Boolean(p.MONGO_PASSWORD)) {
    problems.push('MONGO_USERNAME and MONGO_PASSWORD must be set together');
    return null;
  }
  const host = p.DB_HOST!.includes(':') ? p.DB_HOST! : `${p.DB_HOST}:${p.DB_PORT}`;
  const auth = p.MONGO_USERNAME
    ? `${encodeURIComponent(p.MONGO_USERNAME)}:${encodeURIComponent(p.MONGO_PASSWORD!)}@`
    : '';
  const database = p.MONGO_DATABASE ?? 'chat';
  const built = `mongodb://${auth}${host}/${database}`;
  if (p.MONGO_URL && !sameMongoTarget(p.MONGO_URL, built)) {
    problems.push(
      `MONGO_URL and DB_HOST (with MONGO_USERNAME/MONGO_DATABASE) point at different databases: set only one of them`,
    );
    return null;
  }
  return p.MONGO_URL ?? built;
}

function sameMongoTarget(a: string, b: string): boolean {
  const key = (u: string) => {
    const parsed = new URL(u);
    return `${decodeURIComponent(parsed.username)}@${parsed.host}${parsed.pathname}`;
  };
  return key(a) === key(b);
}

function resolveBroker(p: Parsed, problems: string[], notices: string[]): BrokerConfig {
  if (p.PARSE_MSG !== undefined) {
    notices.push('PARSE_MSG is ignored: the adapters carry binary MessagePack, no stringifying is needed');
  }
  const candidates: { variable: string; config: BrokerConfig }[] = [];
  if (p.REDIS_URL) candidates.push({ variable: 'REDIS_URL', config: { kind: 'redis', url: p.REDIS_URL } });
  if (p.REDIS_HOST) {
    const host = p.REDIS_HOST.includes(':') ? p.REDIS_HOST : `${p.REDIS_HOST}:${p.REDIS_PORT}`;
    candidates.push({ variable: 'REDIS_HOST', config: { kind: 'redis', url: `redis://${host}` } });
  }
  if (p.RABBIT_URL) candidates.push({ variable: 'RABBIT_URL', config: { kind: 'rabbitmq', url: p.RABBIT_URL } });
  if (p.RABBIT_HOST) {
    const value = p.RABBIT_HOST.includes('://') ? p.RABBIT_HOST : `amqp://guest:guest@${p.RABBIT_HOST}`;
    candidates.push({ variable: 'RABBIT_HOST', config: { kind: 'rabbitmq', url: value } });
  }
  if (p.NATS_URL) {
    candidates.push({ variable: 'NATS_URL', config: { kind: 'nats', servers: p.NATS_URL.split(',').map((s) => s.trim()) } });
  }
  if (p.NATS_HOST) {
    const host = p.NATS_HOST.includes(':') ? p.NATS_HOST : `${p.NATS_HOST}:4222`;
    candidates.push({ variable: 'NATS_HOST', config: { kind: 'nats', servers: [`nats://${host}`] } });
  }

  // The original demo's *_HOST variables only took effect with SCALABLE=true.
  const legacyOnly = candidates.every((c) => c.variable.endsWith('_HOST'));
  if (candidates.length > 0 && legacyOnly && p.SCALABLE === false) {
    notices.push(`SCALABLE=false: ignoring ${candidates.map((c) => c.variable).join(', ')}`);
    return { kind: 'none' };
  }

  if (candidates.length === 0 && p.SCALABLE === true && p.BROKER === undefined) {
    notices.push('SCALABLE=true but no broker is configured (REDIS_HOST, RABBIT_HOST, NATS_HOST or a *_URL): running as a single node');
  }

  const kinds = new Set(candidates.map((c) => c.config.kind));
  if (kinds.size > 1) {
    problems.push(
      `more than one broker is configured (${candidates.map((c) => c.variable).join(' and ')}): set only one of them`,
    );
    return { kind: 'none' };
  }
  if (candidates.length > 1 && !sameBroker(candidates.map((c) => c.config))) {
    problems.push(`${candidates.map((c) => c.variable).join(' and ')} point at different servers: set only one of them`);
    return { kind: 'none' };
  }
  const chosen = candidates[0]?.config ?? { kind: 'none' as const };
  if (p.BROKER !== undefined && p.BROKER !== chosen.kind) {
    problems.push(
      chosen.kind === 'none'
        ? `BROKER=${p.BROKER} needs ${brokerVariable(p.BROKER)} to say where the broker is`
        : `BROKER=${p.BROKER} contradicts ${candidates[0]!.variable}, which configures ${chosen.kind}`,
    );
  }
  return chosen;
}

function sameBroker(configs: BrokerConfig[]): boolean {
  const keys = configs.map((c) => (c.kind === 'nats' ? c.servers.join(',') : c.kind === 'none' ? '' : new URL(c.url).host));
  return keys.every((k) => k === keys[0]);
}

function brokerVariable(kind: BrokerKind): string {
  return { none: '', redis: 'REDIS_URL (or REDIS_HOST)', rabbitmq: 'RABBIT_URL (or RABBIT_HOST)', nats: 'NATS_URL (or NATS_HOST)' }[kind];
}
