import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';

/**
 * Same-origin checks for anything that changes state: form and API writes, and the Socket.IO
 * handshake (a WebSocket is never subject to CORS, so without this any page a signed-in person
 * visits could drive their socket). The rules follow Go's net/http CrossOriginProtection:
 * - `Sec-Fetch-Site` (every current browser sends it) must be `same-origin` or `none`;
 * - without it, an `Origin` header must be this request's own origin (scheme, host and port:
 *   `https://` behind a TLS proxy only when TRUST_PROXY lets X-Forwarded-Proto say so) or an
 *   allowed one (PUBLIC_URL, ALLOWED_ORIGINS);
 * - with neither, the client is not a browser (curl, a test, a bot) and no cookie was sent
 *   on anybody's behalf, so the request passes.
 */
export interface OriginPolicy {
  /** Origins allowed besides the request's own (ALLOWED_ORIGINS, PUBLIC_URL), normalized by `new URL().origin`. */
  allowedOrigins: readonly string[];
}

/**
 * Null when the request may go on, else why not (for the error message). `protocol` is how the
 * request reached us as Express's `req.protocol` has it (`http` or `https`, TRUST_PROXY applied).
 */
export function crossOriginReason(request: { headers: IncomingHttpHeaders; protocol: string }, policy: OriginPolicy): string | null {
  const origin = single(request.headers.origin);
  const site = single(request.headers['sec-fetch-site']);
  if (origin !== undefined && policy.allowedOrigins.includes(originOf(origin) ?? '')) return null;
  if (site !== undefined) {
    return site === 'same-origin' || site === 'none' ? null : `a ${site} request (Sec-Fetch-Site)`;
  }
  if (origin === undefined) return null;
  const host = single(request.headers.host);
  const own = host === undefined ? null : originOf(`${request.protocol}://${host}`);
  if (own !== null && originOf(origin) === own) return null;
  return `a request from ${origin}`;
}

/** Express middleware: state-changing methods from another origin get 403 CROSS_ORIGIN. */
export function sameOriginOnly(policy: OriginPolicy): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const reason = crossOriginReason(req, policy);
    if (reason === null) return next();
    res.status(403).json({ error: { code: 'CROSS_ORIGIN', message: `Refused ${reason}: only this site's own pages may do this` } });
  };
}

/** Scheme, host and port as browsers write them (no default port), or null for "null" and garbage. */
function originOf(value: string): string | null {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
