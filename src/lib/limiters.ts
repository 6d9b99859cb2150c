import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { createClient } from 'redis';
import type { Logger } from './logger';
import { redact } from './redact';

/**
 * Rate limits every replica shares. With a Redis (the broker's own when BROKER=redis, or
 * RATE_LIMIT_REDIS_URL beside any broker) the counters live there, so two replicas allow what
 * one would; if Redis is unreachable each replica falls back to counting in memory (an
 * "insurance" limiter) rather than letting everything through or refusing everyone. Without a
 * Redis the counters are per replica.
 */
export interface Limiters {
  readonly shared: boolean;
  /** A limiter of `points` per `durationSeconds` under its own key prefix. */
  create(name: string, points: number, durationSeconds: number): RateLimiterAbstract;
  /** A count of things held open (connections) per key, at most `max` each. */
  slots(name: string, max: number): Slots;
  close(): Promise<void>;
}

/**
 * Open things per key, counted across replicas. In Redis each holder is a member of a sorted
 * set scored by when it lapses; replicas renew the holders they keep, so those of a replica
 * that died lapse by themselves instead of counting forever.
 */
export interface Slots {
  /**
   * True and held for a short while only, or false when `key` already holds `max`: a slot
   * that nothing `keep`s lapses by itself, so an admission that never became a connection
   * cannot count forever.
   */
  take(key: string, holder: string): Promise<boolean>;
  /** Holds a taken slot until it is released (it became a connection). */
  keep(key: string, holder: string): void;
  release(key: string, holder: string): void;
}

/** Kept holders lapse this long after their last renewal; renewed at a third of it. */
const SLOT_LEASE_MS = 90_000;
/** A taken slot not kept within this lapses (an admitted handshake becomes a connection in milliseconds). */
const PROVISIONAL_MS = 10_000;

const TAKE_SLOT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

function memorySlots(max: number): Slots {
  const held = new Map<string, Set<string>>();
  const provisional = new Map<string, NodeJS.Timeout>();
  const release = (key: string, holder: string) => {
    clearTimeout(provisional.get(holder));
    provisional.delete(holder);
    const set = held.get(key);
    if (!set) return;
    set.delete(holder);
    if (set.size === 0) held.delete(key);
  };
  return {
    async take(key, holder) {
      const set = held.get(key) ?? new Set<string>();
      if (set.size >= max) return false;
      held.set(key, set.add(holder));
      const lapse = setTimeout(() => release(key, holder), PROVISIONAL_MS);
      lapse.unref();
      provisional.set(holder, lapse);
      return true;
    },
    keep(key, holder) {
      clearTimeout(provisional.get(holder));
      provisional.delete(holder);
      // Even if it lapsed meanwhile: the connection exists, so it counts.
      held.set(key, (held.get(key) ?? new Set<string>()).add(holder));
    },
    release,
  };
}

export async function createLimiters(options: { redisUrl: string | null; prefix: string }, logger: Logger): Promise<Limiters> {
  const memory = (name: string, points: number, duration: number) =>
    new RateLimiterMemory({ keyPrefix: `${options.prefix}:${name}`, points, duration });
  if (!options.redisUrl) {
    return { shared: false, create: memory, slots: (_name, max) => memorySlots(max), close: async () => {} };
  }
  // A client of its own: the adapter's subscriber cannot run commands, and a limiter must not
  // queue behind broadcasts. Commands fail fast while it is down: the insurance takes over.
  const client = createClient({ url: options.redisUrl, disableOfflineQueue: true, socket: { reconnectStrategy: (n) => Math.min(100 * 2 ** n, 5000) } });
  client.on('error', (error: unknown) => logger.debug({ err: error }, 'rate-limit redis error'));
  const timers: NodeJS.Timeout[] = [];
  await client.connect().catch((error: unknown) => {
    // Limits must not stop the chat from starting: memory counts until Redis answers.
    logger.warn({ err: error, target: redact(options.redisUrl!) }, 'rate limits: Redis unreachable, counting per replica until it is back');
  });
  return {
    shared: true,
    create: (name, points, duration) =>
      new RateLimiterRedis({
        storeClient: client,
        useRedisPackage: true,
        rejectIfRedisNotReady: true,
        keyPrefix: `${options.prefix}:${name}`,
        points,
        duration,
        insuranceLimiter: memory(name, points, duration),
      }),
    slots: (name, max) => {
      // This replica's own count answers while Redis does not.
      const local = memorySlots(max);
      const mine = new Map<string, string>(); // kept holder → its Redis key, renewed while held
      const redisKey = (key: string) => `${options.prefix}:${name}:${key}`;
      // Renewing pushes the key's expiry too, or a key taken once would vanish with live holders.
      const hold = (batch: ReturnType<typeof client.multi>, key: string, holder: string, onlyIfHeld = false) =>
        batch.zAdd(key, { score: Date.now() + SLOT_LEASE_MS, value: holder }, onlyIfHeld ? { XX: true } : undefined).pExpire(key, SLOT_LEASE_MS);
      const renew = setInterval(() => {
        if (mine.size === 0) return;
        const batch = client.multi();
        for (const [holder, key] of mine) hold(batch, key, holder, true);
        void batch.exec().catch(() => {});
      }, SLOT_LEASE_MS / 3);
      renew.unref();
      timers.push(renew);
      return {
        async take(key, holder) {
          if (!(await local.take(key, holder))) return false;
          try {
            const now = Date.now();
            const taken = await client.eval(TAKE_SLOT, {
              keys: [redisKey(key)],
              arguments: [String(now), String(now + PROVISIONAL_MS), String(max), holder, String(SLOT_LEASE_MS)],
            });
            if (taken !== 1) {
              local.release(key, holder);
              return false;
            }
          } catch (error) {
            logger.debug({ err: error }, 'slots: Redis unavailable, counting on this replica only');
          }
          return true;
        },
        keep(key, holder) {
          local.keep(key, holder);
          mine.set(holder, redisKey(key));
          void hold(client.multi(), redisKey(key), holder).exec().catch(() => {});
        },
        release(key, holder) {
          local.release(key, holder);
          mine.delete(holder);
          void client.zRem(redisKey(key), holder).catch(() => {});
        },
      };
    },
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      if (client.isOpen) await client.quit().catch(() => client.destroy());
    },
  };
}

/** Consumes one point; false when the limit is reached (errors count as allowed: see insurance). */
export async function allowed(limiter: RateLimiterAbstract, key: string, points = 1): Promise<boolean> {
  try {
    await limiter.consume(key, points);
    return true;
  } catch (rejection) {
    return !(rejection && typeof rejection === 'object' && 'msBeforeNext' in rejection);
  }
}
