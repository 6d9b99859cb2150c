import { loadConfig, type Env } from '../src/config';
import { redact, redactText } from '../src/lib/redact';
import { configProblems } from './helpers/config';
import { startAppProcess } from './helpers/app-process';
import { freePort } from './helpers/net';

const STRONG = 'k3Jx9-Qv7Lm2Zp8Rt4Wc6Ny1Hb5Gd0Fs';
const production = (env: Env) => ({ NODE_ENV: 'production', MONGO_URL: 'mongodb://db/chat', SESSION_SECRET: STRONG, ...env });
const problems = (env: Env) => configProblems(env).join('\n');

test('production with a strong secret and MongoDB boots; /metrics is off the public port', () => {
  const config = loadConfig(production({}));
  expect(config.metricsOnPublicPort).toBe(false);
  expect(config.notices.join('\n')).toContain('/metrics is off');
});

test('production without MONGO_URL stops boot unless ALLOW_INSECURE_DEMO=true says it is a demo', () => {
  expect(problems(production({ MONGO_URL: '' }))).toContain('NODE_ENV=production needs MONGO_URL');
  const demo = loadConfig(production({ MONGO_URL: '', ALLOW_INSECURE_DEMO: 'true' }));
  expect(demo.mongo).toBeNull();
  expect(demo.notices.join('\n')).toContain('in-memory store');
});

test.each([
  ['docker-chat-demo-session-secret-change-me', 'is a published demo value'],
  ['change-me-k8s-demo-session-secret', 'is a published demo value'],
  ['sixteen-chars-ok', 'is shorter than 32 characters'],
  ['change-me-please-to-something-long-enough', 'looks like a placeholder'],
  ['abababababababababababababababababab', 'has too few distinct characters'],
])('production refuses the weak SESSION_SECRET %j without showing it', (secret, reason) => {
  const message = problems(production({ SESSION_SECRET: secret }));
  expect(message).toContain(`SESSION_SECRET ${reason}`);
  expect(message).not.toContain(secret);
});

test('ALLOW_INSECURE_DEMO=true accepts the published demo secrets (with a notice), never a merely weak one', () => {
  const demo = loadConfig(production({ SESSION_SECRET: 'docker-chat-demo-session-secret-change-me', ALLOW_INSECURE_DEMO: 'true' }));
  expect(demo.notices.join('\n')).toContain('published demo value');
  expect(problems(production({ SESSION_SECRET: 'short-but-sixteen', ALLOW_INSECURE_DEMO: 'true' }))).toContain('shorter than 32');
});

test('/metrics on the public port: by default outside production, in production only with METRICS_PUBLIC=true', () => {
  expect(loadConfig({ NODE_ENV: 'development' }).metricsOnPublicPort).toBe(true);
  expect(loadConfig(production({ METRICS_PUBLIC: 'true' })).metricsOnPublicPort).toBe(true);
  expect(loadConfig(production({ METRICS_PORT: '9464' })).metricsOnPublicPort).toBe(false);
  expect(loadConfig({ NODE_ENV: 'development', METRICS_PORT: '9464' }).metricsOnPublicPort).toBe(false);
});

test.each([
  [{ SESSION_SECRET: 'short-hunter2' }, 'SESSION_SECRET is invalid: expected at least 16 characters', 'hunter2'],
  [{ MONGO_URL: 'postgres://chat:hunter2@db/chat' }, 'MONGO_URL="postgres://***@db/chat" is invalid', 'hunter2'],
  [{ REDIS_URL: 'http://:hunter2@redis:6379' }, 'REDIS_URL="http://***@redis:6379/" is invalid', 'hunter2'],
  [{ RABBIT_URL: 'ampq://chat:hunter2@rabbit' }, 'RABBIT_URL="ampq://***@rabbit" is invalid', 'hunter2'],
  [{ DB_HOST: 'mongo:27017', MONGO_USERNAME: 'chat', MONGO_PASSWORD: 'hunter2', MONGO_URL: 'mongodb://other:pw@x/chat' }, 'point at different databases', 'hunter2'],
])('a config error names the variable and never prints the secret: %j', (env, message, secret) => {
  const text = problems(env);
  expect(text).toContain(message);
  expect(text).not.toContain(secret);
});

test('redact() hides the whole userinfo: a NATS token in the user part, a Redis password without a user', () => {
  expect(redact('nats://s3cr3t-token@nats:4222')).toBe('nats://***@nats:4222');
  expect(redact('redis://:hunter2@redis:6379')).toBe('redis://***@redis:6379');
  expect(redact('mongodb://chat:hunter2@mongo:27017/chat?authSource=admin')).toBe('mongodb://***@mongo:27017/chat?authSource=admin');
  expect(redact('amqp://rabbit:5672')).toBe('amqp://rabbit:5672');
  expect(redact('nats://to ken@bad host')).toBe('nats://***@bad host');
  expect(redactText('failed: mongodb://u:p@h/db and nats://tok@n:4222')).toBe('failed: mongodb://***@h/db and nats://***@n:4222');
});

test('redact() also scrubs userinfo without a scheme: `token@host:port`, `user:pass@host`', () => {
  expect(redact('Hunter2Token@127.0.0.1:1')).toBe('***@127.0.0.1:1');
  expect(redact('chat:hunter2@nats:4222')).toBe('***@nats:4222');
  expect(redact('nats:4222')).toBe('nats:4222');
  expect(redactText('Could not connect to nats at Hunter2Token@127.0.0.1:1 after 1 attempt')).toBe('Could not connect to nats at ***@127.0.0.1:1 after 1 attempt');
  expect(redactText('servers=tok@a:1,chat:hunter2@b:2 (redis://:p@ss@c:6379)')).toBe('servers=***@a:1,***@b:2 (redis://***@c:6379)');
});

test.each([
  [{ NATS_HOST: 'Hunter2Token@nats' }, 'NATS_HOST="***@nats" is invalid'],
  [{ DB_HOST: 'chat:Hunter2Token@mongo:27017' }, 'DB_HOST="***@mongo:27017" is invalid'],
])('a bare token@host in a config error is scrubbed: %j', (env, message) => {
  const text = problems(env);
  expect(text).toContain(message);
  expect(text).not.toContain('Hunter2Token');
});

test('the real process: a scheme-less NATS_URL=token@host:port is scrubbed from "Startup failed"', async () => {
  const port = await freePort();
  const app = await startAppProcess({ NATS_URL: `Hunter2Token@127.0.0.1:${port}`, BROKER_CONNECT_RETRIES: '1' }, { waitFor: 'none' });
  expect(await app.exited).toBe(1);
  expect(app.output()).toContain(`Startup failed: Could not connect to nats at ***@127.0.0.1:${port}`);
  expect(app.output()).not.toContain('Hunter2Token');
});

test('the real process: a production boot without MongoDB exits 78 naming the variable; no secret in its output', async () => {
  const app = await startAppProcess({ NODE_ENV: 'production', SESSION_SECRET: 'docker-chat-demo-session-secret-change-me', NATS_URL: 'nats://tok3n-s3cret@127.0.0.1:4222' }, { waitFor: 'none' });
  expect(await app.exited).toBe(78);
  expect(app.output()).toContain('SESSION_SECRET is a published demo value');
  expect(app.output()).toContain('NODE_ENV=production needs MONGO_URL');
  expect(app.output()).not.toContain('docker-chat-demo-session-secret-change-me');
  expect(app.output()).not.toContain('tok3n-s3cret');
});

test('the real process logs a NATS token-only URL redacted', async () => {
  const port = await freePort(); // nobody listens: the one attempt fails and the process exits
  const app = await startAppProcess({ NATS_URL: `nats://tok3n-s3cret@127.0.0.1:${port}`, BROKER_CONNECT_RETRIES: '1' }, { waitFor: 'none' });
  expect(await app.exited).not.toBe(0);
  expect(app.output()).toContain(`nats://***@127.0.0.1:${port}`);
  expect(app.output()).not.toContain('tok3n-s3cret');
});
