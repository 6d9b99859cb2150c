import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { ENV_VARS, schema, type Env } from './schema';
import { SECRET_WEAKNESS, secretWeakness, shownValue, STRONG_SECRET_LENGTH } from './secrets';
import { resolveBroker, resolveMongo } from './sources';

export { ENV_VARS, type Env, type EnvVar } from './schema';

/*
 * Every setting the service reads, validated in one place: the variables and their shapes
 * (./schema.ts), secrets and how errors show values (./secrets.ts), where the store and
 * broker are (./sources.ts), and here the rules across variables. `loadConfig` never reads
 * anything but the env object it is given, so tests pass their own.
 */

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
  /** A port of its own for GET /metrics, kept off the public one. */
  metricsPort: number | null;
  /** GET /metrics on the public port: outside production when METRICS_PORT is unset, else only if asked. */
  metricsOnPublicPort: boolean;
  /** Open Socket.IO connections one replica accepts per person and per client address. */
  maxSockets: { perPerson: number; perAddress: number };
  /**
   * Slow clients: all headers within headersTimeoutMs, the whole request within requestTimeoutMs.
   * maxConnections: TCP connections held open at once (MAX_CONNECTIONS); null: derived from the
   * process's open-file limit when the server starts.
   */
  http: { headersTimeoutMs: number; requestTimeoutMs: number; maxConnections: number | null };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  instanceName: string;
  session: {
    secret: string;
    /** True when no SESSION_SECRET was given and one was made up for this process. */
    secretGenerated: boolean;
    maxAgeMs: number;
    /** `__Host-chat.sid` when PUBLIC_URL is https (Secure, host-only, path /), else `chat.sid`. */
    cookieName: string;
    /** Always Secure behind an https PUBLIC_URL; else Secure when the request came over HTTPS. */
    secureCookie: true | 'auto';
  };
  /** Origins besides the request's own host that may write and open sockets (PUBLIC_URL, ALLOWED_ORIGINS). */
  allowedOrigins: string[];
  /** PUBLIC_URL's origin: the passkeys' relying party. Null: each request's own origin. */
  publicOrigin: string | null;
  /** REQUIRE_NAME_PROTECTION: every name needs a password or a passkey. */
  requireNameProtection: boolean;
  /** Unprotected accounts idle this long expire with their sessions; null: never. */
  idleAccountMs: number | null;
  /** Express "trust proxy": needed for Secure cookies behind Traefik or an Ingress. */
  trustProxy: boolean | number | string;
  storageVolume: string;
  /** Total size the profile photos may take on the volume. */
  avatarQuotaBytes: number;
  /** How long after sending people may edit or delete their messages (MESSAGE_EDIT_MINUTES); 0: they may not. */
  editWindowMs: number;
  rateLimits: {
    /** Messages one person may send per 10 s on one replica. */
    messagesPer10s: number;
    /** Edits and deletes one person may make per minute. */
    editsPerMinute: number;
    /** Reactions one person may add or remove per 10 s. */
    reactionsPer10s: number;
    /** Direct conversations one person may open per minute. */
    directPerMinute: number;
    /** Rooms one person may create per minute. */
    roomsPerMinute: number;
    /** Rooms everybody together may create per minute. */
    roomsPerMinuteInTotal: number;
    /** Rooms that may exist at all. */
    maxRooms: number;
    /** Sign-in attempts per minute from one IP address. */
    signInsPerMinute: number;
    /** Where the counters live, shared by all replicas: RATE_LIMIT_REDIS_URL, else the broker's Redis; null: per replica. */
    redisUrl: string | null;
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
  /** How long a request to the other replicas (serverSideEmit with ack, fetchSockets, allRooms) waits. */
  adapterRequestsTimeoutMs: number;
  /** OPERATOR_TOKEN: shows the cluster view's details (GET /api/cluster with a Bearer token); null: members only. */
  operatorToken: string | null;
  /** Human-readable notices about the configuration, logged at boot. */
  notices: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

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
        return `${variable}${shownValue(variable, input[variable] ?? '')} is invalid: expected ${issue.message}`;
      }),
    );
  }
  const parsed = result.data;
  const problems: string[] = [];
  const notices: string[] = [];

  const mongo = resolveMongo(parsed, problems);
  const mongoRefused = problems.length > 0;
  const broker = resolveBroker(parsed, problems, notices);
  if ((broker.kind === 'rabbitmq' || broker.kind === 'nats') && parsed.RATE_LIMIT_REDIS_URL === undefined) {
    notices.push(
      `rate limits and socket caps count per replica: ${broker.kind} cannot share them, so N replicas allow N times each limit. ` +
        'Set RATE_LIMIT_REDIS_URL=redis://host:6379 to count them across replicas',
    );
  }
  if (parsed.ADAPTER_HEARTBEAT_TIMEOUT_MS <= parsed.ADAPTER_HEARTBEAT_INTERVAL_MS) {
    problems.push('ADAPTER_HEARTBEAT_TIMEOUT_MS must be greater than ADAPTER_HEARTBEAT_INTERVAL_MS');
  }

  const production = parsed.NODE_ENV === 'production';
  const demo = parsed.ALLOW_INSECURE_DEMO;
  let secret = parsed.SESSION_SECRET;
  const secretGenerated = !secret;
  if (!secret) {
    if (production) {
      problems.push(`SESSION_SECRET is required when NODE_ENV=production (at least ${STRONG_SECRET_LENGTH} random characters)`);
    }
    secret = randomBytes(32).toString('hex');
    notices.push('SESSION_SECRET is not set: using a random one, so sessions end when this process stops');
  } else if (production) {
    const weakness = secretWeakness(secret);
    if (weakness === 'demo' && demo) {
      notices.push('SESSION_SECRET is a published demo value (accepted because ALLOW_INSECURE_DEMO=true): anyone can forge sessions');
    } else if (weakness) {
      problems.push(`SESSION_SECRET ${SECRET_WEAKNESS[weakness]}: NODE_ENV=production needs at least ${STRONG_SECRET_LENGTH} random characters (e.g. openssl rand -hex 32)`);
    }
  }
  if (production && mongo === null && !mongoRefused) {
    if (demo) notices.push('NODE_ENV=production on the in-memory store (accepted because ALLOW_INSECURE_DEMO=true): no limit on its growth, nothing survives a restart');
    else problems.push('NODE_ENV=production needs MONGO_URL (or DB_HOST): the in-memory store loses everything on restart and grows without bound. Set ALLOW_INSECURE_DEMO=true to run a demo anyway');
  }
  const metricsOnPublicPort = parsed.METRICS_PORT === undefined && (parsed.METRICS_PUBLIC ?? !production);
  if (production && parsed.METRICS_PORT === undefined && !metricsOnPublicPort) {
    notices.push('/metrics is off: set METRICS_PORT to serve it on a port of its own (or METRICS_PUBLIC=true for the public port)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const httpsPublic = parsed.PUBLIC_URL?.startsWith('https:') ?? false;

  return {
    env: parsed.NODE_ENV,
    port: parsed.PORT,
    host: parsed.HOST,
    metricsPort: parsed.METRICS_PORT ?? null,
    metricsOnPublicPort,
    maxSockets: { perPerson: parsed.MAX_SOCKETS_PER_PERSON, perAddress: parsed.MAX_SOCKETS_PER_ADDRESS },
    http: {
      headersTimeoutMs: parsed.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: parsed.HTTP_REQUEST_TIMEOUT_MS,
      maxConnections: parsed.MAX_CONNECTIONS ?? null,
    },
    logLevel: parsed.LOG_LEVEL,
    instanceName: parsed.INSTANCE_NAME ?? parsed.HOSTNAME ?? hostname(),
    session: {
      secret,
      secretGenerated,
      maxAgeMs: parsed.SESSION_MAX_AGE_HOURS * 3_600_000,
      cookieName: httpsPublic ? '__Host-chat.sid' : 'chat.sid',
      secureCookie: httpsPublic ? true : 'auto',
    },
    publicOrigin: parsed.PUBLIC_URL ? new URL(parsed.PUBLIC_URL).origin : null,
    requireNameProtection: parsed.REQUIRE_NAME_PROTECTION,
    idleAccountMs: parsed.IDLE_ACCOUNT_DAYS === 0 ? null : parsed.IDLE_ACCOUNT_DAYS * 86_400_000,
    allowedOrigins: [
      ...(parsed.PUBLIC_URL ? [new URL(parsed.PUBLIC_URL).origin] : []),
      ...(parsed.ALLOWED_ORIGINS?.split(',').map((o) => new URL(o.trim()).origin) ?? []),
    ],
    trustProxy: parseTrustProxy(parsed.TRUST_PROXY),
    storageVolume: path.resolve(parsed.STORAGE_VOLUME),
    avatarQuotaBytes: parsed.AVATAR_QUOTA_MB * 1024 * 1024,
    editWindowMs: parsed.MESSAGE_EDIT_MINUTES * 60_000,
    rateLimits: {
      messagesPer10s: parsed.MESSAGE_RATE_LIMIT,
      editsPerMinute: parsed.EDIT_RATE_LIMIT,
      reactionsPer10s: parsed.REACTION_RATE_LIMIT,
      directPerMinute: parsed.DM_RATE_LIMIT,
      roomsPerMinute: parsed.ROOM_RATE_LIMIT,
      roomsPerMinuteInTotal: parsed.ROOM_RATE_LIMIT_TOTAL,
      maxRooms: parsed.MAX_ROOMS,
      signInsPerMinute: parsed.SIGNIN_RATE_LIMIT,
      redisUrl: parsed.RATE_LIMIT_REDIS_URL ?? (broker.kind === 'redis' ? broker.url : null),
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
    adapterRequestsTimeoutMs: parsed.ADAPTER_REQUESTS_TIMEOUT_MS,
    operatorToken: parsed.OPERATOR_TOKEN ?? null,
    notices,
  };
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value; // "loopback", a CIDR list...: Express understands these.
}
