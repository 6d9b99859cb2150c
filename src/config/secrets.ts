import { redact, redactText } from '../lib/redact';

/** Variables whose value is a secret: a config error names them but never shows the value. */
const SECRET_VARIABLES = new Set(['SESSION_SECRET', 'MONGO_PASSWORD', 'OPERATOR_TOKEN']);
/** Variables that hold URLs, whose userinfo may carry a password or token. */
const URL_VARIABLES = new Set(['MONGO_URL', 'REDIS_URL', 'RATE_LIMIT_REDIS_URL', 'RABBIT_URL', 'RABBIT_HOST', 'NATS_URL']);

/** How a bad value is shown in a config error: secrets never, URLs without their userinfo. */
export function shownValue(variable: string, value: string): string {
  if (SECRET_VARIABLES.has(variable)) return ''; // named, never shown
  if (URL_VARIABLES.has(variable)) return `=${JSON.stringify(value.split(',').map((v) => redact(v.trim())).join(','))}`;
  return `=${JSON.stringify(redactText(value))}`;
}

export const STRONG_SECRET_LENGTH = 32;
/**
 * The SESSION_SECRET values this repository publishes (compose/app.yaml, k8s/base): whoever
 * reads the repository can sign session cookies with them.
 */
const DEMO_SECRETS = new Set(['docker-chat-demo-session-secret-change-me', 'change-me-k8s-demo-session-secret']);
export const SECRET_WEAKNESS = {
  demo: 'is a published demo value',
  short: `is shorter than ${STRONG_SECRET_LENGTH} characters`,
  placeholder: 'looks like a placeholder ("change me", "secret", "password"...)',
  repetitive: 'has too few distinct characters',
} as const;

export function secretWeakness(secret: string): keyof typeof SECRET_WEAKNESS | null {
  if (DEMO_SECRETS.has(secret)) return 'demo';
  if (secret.length < STRONG_SECRET_LENGTH) return 'short';
  if (/change.?me|^(my.?)?(session.?)?secret|^password|^example|^default/i.test(secret)) return 'placeholder';
  if (new Set(secret).size < 10) return 'repetitive';
  return null;
}
