import path from 'node:path';
import { ENV_VARS, loadConfig } from '../src/config';
import { startAppProcess } from './helpers/app-process';
import { configProblems } from './helpers/config';
import { uniqueId } from './helpers/net';

const problems = (env: Record<string, string>) => configProblems(env).join('\n');

test('defaults: port 3000, ./uploads, in-memory store, no broker, a generated session secret with a notice', () => {
  const config = loadConfig({});
  expect(config).toMatchObject({
    env: 'development',
    port: 3000,
    storageVolume: path.resolve('uploads'),
    mongo: null,
    broker: { kind: 'none' },
    trustProxy: false,
    session: { secretGenerated: true },
  });
  expect(config.session.secret).toMatch(/^[a-f0-9]{64}$/);
  expect(config.notices.join('\n')).toContain('SESSION_SECRET is not set');
});

test('NODE_ENV=production without SESSION_SECRET stops boot, naming the variable', () => {
  expect(problems({ NODE_ENV: 'production' })).toContain('SESSION_SECRET is required when NODE_ENV=production');
});

test.each([
  [{ PORT: 'eighty' }, 'PORT="eighty" is invalid: expected a whole number from 0 to 65535'],
  [{ PORT: '70000' }, 'PORT="70000" is invalid'],
  [{ SESSION_SECRET: 'short' }, 'SESSION_SECRET is invalid: expected at least 16 characters'],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL="loud" is invalid'],
  [{ MESSAGE_RATE_LIMIT: '0' }, 'MESSAGE_RATE_LIMIT="0" is invalid'],
  [{ NODE_ENV: 'staging' }, 'NODE_ENV="staging" is invalid'],
])('a bad value stops boot with a message naming it: %j', (env, message) => {
  expect(problems(env)).toContain(message);
});

test('every problem is reported at once', () => {
  const message = problems({ PORT: 'x', LOG_LEVEL: 'y' });
  expect(message).toContain('PORT=');
  expect(message).toContain('LOG_LEVEL=');
});

test('TRUST_PROXY takes true, a hop count or an address list', () => {
  expect(loadConfig({ TRUST_PROXY: 'true' }).trustProxy).toBe(true);
  expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
  expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).trustProxy).toBe('loopback, 10.0.0.0/8');
});

test('INSTANCE_NAME, else HOSTNAME (what Docker and Kubernetes set), names the replica', () => {
  expect(loadConfig({ HOSTNAME: 'app-7f9c' }).instanceName).toBe('app-7f9c');
  expect(loadConfig({ HOSTNAME: 'app-7f9c', INSTANCE_NAME: 'blue' }).instanceName).toBe('blue');
});

test('empty values count as unset', () => {
  expect(loadConfig({ PORT: '', REDIS_URL: '' })).toMatchObject({ port: 3000, broker: { kind: 'none' } });
});

test('variables it does not know are ignored; ENV_VARS lists those it reads', () => {
  expect(() => loadConfig({ PATH: '/bin', SOMETHING_ELSE: 'x' })).not.toThrow();
  expect(ENV_VARS).toEqual(expect.arrayContaining(['PORT', 'SESSION_SECRET', 'STORAGE_VOLUME', 'MONGO_URL', 'REDIS_HOST']));
});

describe('rate limits and socket caps that would count per replica are announced at boot', () => {
  const warning = 'RATE_LIMIT_REDIS_URL';
  test.each([
    [{ RABBIT_URL: 'amqp://guest:guest@rabbit:5672' }, true],
    [{ NATS_URL: 'nats://nats:4222' }, true],
    [{ NATS_HOST: 'nats', SCALABLE: 'true' }, true],
    [{ NATS_URL: 'nats://nats:4222', RATE_LIMIT_REDIS_URL: 'redis://limits:6379' }, false],
    [{ REDIS_URL: 'redis://redis:6379' }, false], // the broker's Redis holds them
    [{}, false], // one replica: per replica is everything
  ])('%j: warned %s', (env, warned) => {
    expect(loadConfig(env).notices.some((notice) => notice.includes(warning))).toBe(warned);
  });

  test('the real process logs it as a warning', async () => {
    const app = await startAppProcess({ NATS_URL: 'nats://127.0.0.1:4222', BROKER_PREFIX: uniqueId('warn-') });
    try {
      const line = app.output().split('\n').find((l) => l.includes(warning));
      expect(JSON.parse(line!)).toMatchObject({
        level: 40,
        msg: expect.stringContaining('rate limits and socket caps count per replica: nats cannot share them'),
      });
    } finally {
      await app.stop();
    }
  });
});
