import type { BrokerConfig, BrokerKind } from './index';
import type { Parsed } from './schema';

/*
 * Where the store and the broker are, from the variables of this project and those of the
 * original demo (DB_HOST, REDIS_HOST...), with the conflicts between them named.
 */

/** MONGO_URL, or the original demo's MONGO_USERNAME/MONGO_PASSWORD/MONGO_DATABASE/DB_HOST/DB_PORT. */
export function resolveMongo(p: Parsed, problems: string[]): string | null {
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

export function resolveBroker(p: Parsed, problems: string[], notices: string[]): BrokerConfig {
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
