import { z } from 'zod';

/**
 * The environment the service reads: every variable and the shape it must have. README.md
 * ("Configuration") lists them; test/deploy checks that compose files and manifests set no
 * variable missing from ENV_VARS. Cross-variable rules live in ./index.ts.
 */
export const ENV_VARS = [
  'NODE_ENV',
  'PORT',
  'HOST',
  'METRICS_PORT',
  'HTTP_HEADERS_TIMEOUT_MS',
  'HTTP_REQUEST_TIMEOUT_MS',
  'MAX_CONNECTIONS',
  'METRICS_PUBLIC',
  'ALLOW_INSECURE_DEMO',
  'LOG_LEVEL',
  'INSTANCE_NAME',
  'HOSTNAME',
  'SESSION_SECRET',
  'SESSION_MAX_AGE_HOURS',
  'TRUST_PROXY',
  'PUBLIC_URL',
  'ALLOWED_ORIGINS',
  'REQUIRE_NAME_PROTECTION',
  'IDLE_ACCOUNT_DAYS',
  'STORAGE_VOLUME',
  'AVATAR_QUOTA_MB',
  'MESSAGE_RATE_LIMIT',
  'MESSAGE_EDIT_MINUTES',
  'EDIT_RATE_LIMIT',
  'REACTION_RATE_LIMIT',
  'DM_RATE_LIMIT',
  'ROOM_RATE_LIMIT',
  'ROOM_RATE_LIMIT_TOTAL',
  'MAX_ROOMS',
  'SIGNIN_RATE_LIMIT',
  'MAX_SOCKETS_PER_PERSON',
  'MAX_SOCKETS_PER_ADDRESS',
  'RATE_LIMIT_REDIS_URL',
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
  'ADAPTER_REQUESTS_TIMEOUT_MS',
  'OPERATOR_TOKEN',
] as const;

export type EnvVar = (typeof ENV_VARS)[number];
export type Env = Partial<Record<string, string | undefined>>;

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

export const schema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  METRICS_PORT: int(0, 65535).optional(),
  METRICS_PUBLIC: bool.optional(),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  MAX_CONNECTIONS: int(1, 10_000_000).optional(),
  ALLOW_INSECURE_DEMO: bool.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  INSTANCE_NAME: z.string().min(1).max(100).optional(),
  HOSTNAME: z.string().optional(),
  SESSION_SECRET: z.string().min(16, 'at least 16 characters').optional(),
  SESSION_MAX_AGE_HOURS: int(1, 24 * 365).default(24 * 14),
  TRUST_PROXY: z.string().min(1).optional(),
  PUBLIC_URL: url(['http', 'https']).optional(),
  REQUIRE_NAME_PROTECTION: bool.default(false),
  IDLE_ACCOUNT_DAYS: int(0, 36_500).default(30),
  ALLOWED_ORIGINS: z
    .string()
    .refine((v) => v.split(',').every((o) => isOrigin(o.trim())), 'comma-separated origins such as https://chat.example.com')
    .optional(),
  STORAGE_VOLUME: z.string().min(1).default('./uploads'),
  AVATAR_QUOTA_MB: int(1, 10_000_000).default(1024),
  MESSAGE_RATE_LIMIT: int(1, 100_000).default(20),
  MESSAGE_EDIT_MINUTES: int(0, 7 * 24 * 60).default(15),
  EDIT_RATE_LIMIT: int(1, 100_000).default(30),
  REACTION_RATE_LIMIT: int(1, 100_000).default(30),
  DM_RATE_LIMIT: int(1, 100_000).default(20),
  ROOM_RATE_LIMIT: int(1, 100_000).default(10),
  ROOM_RATE_LIMIT_TOTAL: int(1, 1_000_000).default(60),
  MAX_ROOMS: int(1, 10_000_000).default(1000),
  SIGNIN_RATE_LIMIT: int(1, 100_000).default(60),
  MAX_SOCKETS_PER_PERSON: int(1, 100_000).default(20),
  MAX_SOCKETS_PER_ADDRESS: int(1, 1_000_000).default(500),
  RATE_LIMIT_REDIS_URL: url(['redis', 'rediss']).optional(),
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
  ADAPTER_REQUESTS_TIMEOUT_MS: int(100, 120_000).default(5000),
  OPERATOR_TOKEN: z.string().min(16, 'at least 16 characters').max(1000, 'at most 1000 characters').optional(),
});

export type Parsed = z.infer<typeof schema>;


function isOrigin(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}
