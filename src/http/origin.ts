import type { IncomingHttpHeaders } from 'node:http';
import type { RequestHandler } from 'express';

/**
 * Same-origin checks for anything that changes state: form and API writes, and the Socket.IO
 * handshake (a WebSocket is never subject to CORS, so without this any page a signed-in person
 * visits could drive their socket). The rules follow Go's net/http CrossOriginProtection:
 * - `Sec-Fetch-Site` (every current browser sends it) must be `same-origin` or `none`;
 * - without it, an `Origin` header must name this host (or an allowed origin);
 * - with neither, the client is not a browser (curl, a test, a bot) and no cookie was sent
 *   on anybody's behalf, so the request passes.
 */
export interface OriginPolicy {
  /** Origins allowed besides the request's own host (ALLOWED_ORIGINS, PUBLIC_URL). */
  allowedOrigins: readonly string[];
}

/** Null when the request may go on, else why not (for the error message). */
export function crossOriginReason(headers: IncomingHttpHeaders, policy: OriginPolicy): string | null {
  const origin = single(headers.origin);
  if (origin !== undefined && policy.allowedOrigins.includes(origin)) return null;
  const site = single(headers['sec-fetch-site']);
  if (site !== undefined) {
    return site === 'same-origin' || site === 'none' ? null : `a ${site} request (Sec-Fetch-Site)`;
  }
  if (origin === undefined) return null;
  const host = single(headers.host);
  try {
    if (host !== undefined && new URL(origin).host === host) return null;
  } catch {
    // "null" or garbage: not this origin
  }
  return `a request from ${origin}`;
}

/** Express middleware: state-changing methods from another origin get 403 CROSS_ORIGIN. */
export function sameOriginOnly(policy: OriginPolicy): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return next();
    const reason = crossOriginReason(req.headers, policy);
    if (reason === null) return next();
    res.status(403).json({ error: { code: 'CROSS_ORIGIN', message: `Refused ${reason}: only this site's own pages may do this` } });
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
