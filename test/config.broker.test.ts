import { loadConfig, type Env } from '../src/config';
import { configProblems } from './helpers/config';

const load = (env: Env) => loadConfig({ NODE_ENV: 'test', ...env });

const problems = configProblems;

describe('choosing the broker', () => {
  test('none by default, with the documented defaults', () => {
    const config = load({});
    expect(config.broker).toEqual({ kind: 'none' });
    expect(config.brokerPrefix).toBe('docker-chat');
    expect(config.brokerConnect).toEqual({ attempts: 10, initialDelayMs: 500 });
    expect(config.adapterHeartbeat).toEqual({ intervalMs: 2000, timeoutMs: 4500 });
  });

  test.each([
    [{ REDIS_URL: 'redis://cache:6379' }, { kind: 'redis', url: 'redis://cache:6379' }],
    [{ BROKER: 'redis', REDIS_URL: 'rediss://:pw@cache:6380' }, { kind: 'redis', url: 'rediss://:pw@cache:6380' }],
    [{ RABBIT_URL: 'amqp://u:p@mq:5672/vhost' }, { kind: 'rabbitmq', url: 'amqp://u:p@mq:5672/vhost' }],
    [{ NATS_URL: 'nats://n1:4222, nats://n2:4222' }, { kind: 'nats', servers: ['nats://n1:4222', 'nats://n2:4222'] }],
  ])('%j selects %j', (env, broker) => {
    expect(load(env).broker).toEqual(broker);
  });

  test.each([
    [{ SCALABLE: 'true', REDIS_HOST: 'redis' }, { kind: 'redis', url: 'redis://redis:6379' }],
    [{ SCALABLE: 'true', REDIS_HOST: 'redis', REDIS_PORT: '6380' }, { kind: 'redis', url: 'redis://redis:6380' }],
    [{ SCALABLE: 'true', REDIS_HOST: 'redis:7000' }, { kind: 'redis', url: 'redis://redis:7000' }],
    [{ SCALABLE: 'true', RABBIT_HOST: 'rabbitmq' }, { kind: 'rabbitmq', url: 'amqp://guest:guest@rabbitmq' }],
    [{ SCALABLE: 'true', RABBIT_HOST: 'amqp://u:p@mq' }, { kind: 'rabbitmq', url: 'amqp://u:p@mq' }],
    [{ SCALABLE: 'true', NATS_HOST: 'nats' }, { kind: 'nats', servers: ['nats://nats:4222'] }],
  ])("the original's variables: %j selects %j", (env, broker) => {
    expect(load(env).broker).toEqual(broker);
  });

  test("SCALABLE=false turns the original's variables off, with a notice", () => {
    const config = load({ SCALABLE: 'false', REDIS_HOST: 'redis' });
    expect(config.broker).toEqual({ kind: 'none' });
    expect(config.notices).toContain('SCALABLE=false: ignoring REDIS_HOST');
  });

  test('SCALABLE=true without a broker runs as a single node, with a notice', () => {
    const config = load({ SCALABLE: 'true' });
    expect(config.broker).toEqual({ kind: 'none' });
    expect(config.notices.join('\n')).toMatch(/SCALABLE=true but no broker is configured/);
  });

  test('PARSE_MSG is accepted and ignored with a notice', () => {
    const config = load({ PARSE_MSG: 'true', NATS_URL: 'nats://n:4222' });
    expect(config.broker).toEqual({ kind: 'nats', servers: ['nats://n:4222'] });
    expect(config.notices.join('\n')).toMatch(/PARSE_MSG is ignored/);
  });

  test('the same broker twice (URL and host) is fine when both point at the same server', () => {
    expect(load({ REDIS_URL: 'redis://redis:6379', REDIS_HOST: 'redis', SCALABLE: 'true' }).broker).toEqual({
      kind: 'redis',
      url: 'redis://redis:6379',
    });
  });

  test.each([
    [{ REDIS_URL: 'redis://r:6379', NATS_URL: 'nats://n:4222' }, 'REDIS_URL and NATS_URL'],
    [{ RABBIT_URL: 'amqp://mq', REDIS_HOST: 'redis', SCALABLE: 'true' }, 'REDIS_HOST and RABBIT_URL'],
    [{ SCALABLE: 'true', RABBIT_HOST: 'mq', NATS_HOST: 'nats' }, 'RABBIT_HOST and NATS_HOST'],
  ])('two brokers at once are refused, naming both variables: %j', (env, named) => {
    expect(problems(env)).toEqual([`more than one broker is configured (${named}): set only one of them`]);
  });

  test('one broker at two addresses is refused', () => {
    expect(problems({ REDIS_URL: 'redis://a:6379', REDIS_HOST: 'b', SCALABLE: 'true' })).toEqual([
      'REDIS_URL and REDIS_HOST point at different servers: set only one of them',
    ]);
  });

  test('BROKER must agree with the address given', () => {
    expect(problems({ BROKER: 'rabbitmq' })).toEqual(['BROKER=rabbitmq needs RABBIT_URL (or RABBIT_HOST) to say where the broker is']);
    expect(problems({ BROKER: 'redis', NATS_URL: 'nats://n:4222' })).toEqual([
      'BROKER=redis contradicts NATS_URL, which configures nats',
    ]);
    expect(load({ BROKER: 'none' }).broker).toEqual({ kind: 'none' });
  });

  test('bad values name the variable', () => {
    expect(problems({ REDIS_URL: 'http://r:6379' })[0]).toMatch(/^REDIS_URL="http:\/\/r:6379" is invalid: expected a URL starting with redis:\/\//);
    expect(problems({ BROKER: 'kafka' })[0]).toMatch(/^BROKER="kafka" is invalid/);
    expect(problems({ BROKER_PREFIX: 'a b' })[0]).toMatch(/^BROKER_PREFIX="a b" is invalid/);
    expect(problems({ ADAPTER_HEARTBEAT_INTERVAL_MS: '3000', ADAPTER_HEARTBEAT_TIMEOUT_MS: '3000' })).toEqual([
      'ADAPTER_HEARTBEAT_TIMEOUT_MS must be greater than ADAPTER_HEARTBEAT_INTERVAL_MS',
    ]);
  });

  test('connection retries, prefix and heartbeats are read', () => {
    const config = load({
      BROKER_CONNECT_RETRIES: '3',
      BROKER_CONNECT_DELAY_MS: '50',
      BROKER_PREFIX: 'chat-prod',
      ADAPTER_HEARTBEAT_INTERVAL_MS: '1000',
      ADAPTER_HEARTBEAT_TIMEOUT_MS: '3000',
    });
    expect(config.brokerConnect).toEqual({ attempts: 3, initialDelayMs: 50 });
    expect(config.brokerPrefix).toBe('chat-prod');
    expect(config.adapterHeartbeat).toEqual({ intervalMs: 1000, timeoutMs: 3000 });
  });
});
