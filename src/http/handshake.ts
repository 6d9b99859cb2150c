import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Limiters } from '../lib/limiters';
import { crossOriginReason, type OriginPolicy } from './origin';

type AllowRequest = (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void) => void;

/**
 * engine.io's `allowRequest`: runs on each new handshake before engine.io allocates anything
 * for it (no socket, no buffers, not counted in clientsCount). A handshake from another origin,
 * or without a signed-in session, is answered 403 with `{"code":4,"message":"<CODE>: <why>"}`.
 * The session is loaded onto the request, so the Socket.IO middleware reads it without a
 * second store round trip (express-session skips a request that already has one).
 */
export function handshakeGuard(deps: {
  policy: OriginPolicy;
  /** `http` or `https` as Express's `req.protocol` has it (TRUST_PROXY applies). */
  protocolOf(req: IncomingMessage): string;
  cookieName: string;
  sessionMiddleware: RequestHandler;
  /** False for a session that "sign out everywhere" ended, or whose user is gone. */
  sessionValid(session: { userId: string; epoch?: number }): Promise<boolean>;
  caps: ConnectionCaps;
}): AllowRequest {
  return (req, callback) => {
    const reason = crossOriginReason({ headers: req.headers, protocol: deps.protocolOf(req) }, deps.policy);
    if (reason !== null) return callback(`CROSS_ORIGIN: refused ${reason}`, false);
    // No cookie, no session: refuse without touching the session store.
    if (!req.headers.cookie?.includes(`${deps.cookieName}=`)) return callback('UNAUTHORIZED: Sign in first', false);
    const request = req as IncomingMessage & { session?: { userId?: string; epoch?: number } };
    const unavailable = () => callback('STORE_UNAVAILABLE: The database is unavailable, please try again', false);
    deps.sessionMiddleware(request as never, {} as never, (error?: unknown) => {
      if (error) return unavailable();
      const userId = request.session?.userId;
      if (!userId) return callback('UNAUTHORIZED: Sign in first', false);
      deps.sessionValid({ userId, epoch: request.session?.epoch }).then(async (valid) => {
        if (!valid) return callback('UNAUTHORIZED: Sign in again', false);
        const tooMany = await deps.caps.admit(req, userId);
        if (tooMany) return callback(`TOO_MANY_CONNECTIONS: ${tooMany}`, false);
        callback(null, true);
      }).catch(unavailable);
    });
  };
}

/**
 * Open connections per person and per client address, across replicas when they share a Redis
 * (src/lib/limiters.ts). A handshake is counted when it is admitted (so a burst cannot slip
 * through before any connection exists) and uncounted when its engine.io socket closes, or when
 * the handshake ends without one: ws refusing the upgrade (no Sec-WebSocket-Key), a client
 * that hung up, engine.io answering an error. Until it is a connection its slots are provisional
 * and lapse by themselves, whatever path was missed here.
 */
export interface ConnectionCaps {
  /** Null and counted, or why this handshake is one too many. */
  admit(req: IncomingMessage, userId: string): Promise<string | null>;
  /** For io.engine's "connection" event: keeps the handshake's slots until the socket closes. */
  track(socket: { request: IncomingMessage; once(event: 'close', listener: () => void): unknown }): void;
}

/** What ends a handshake: its HTTP response (polling), else its TCP socket (a WebSocket upgrade). */
type HandshakeEnd = { destroyed: boolean; once(event: 'close', listener: () => void): unknown; off(event: 'close', listener: () => void): unknown };

export function connectionCaps(options: {
  perPerson: number;
  perAddress: number;
  limiters: Limiters;
  addressOf(req: IncomingMessage): string;
}): ConnectionCaps {
  const byPerson = options.limiters.slots('sockets-person', options.perPerson);
  const byAddress = options.limiters.slots('sockets-address', options.perAddress);
  const admitted = new WeakMap<IncomingMessage, { userId: string; address: string; holder: string; end: HandshakeEnd; abandoned(): void }>();
  const release = (entry: { userId: string; address: string; holder: string }) => {
    byPerson.release(entry.userId, entry.holder);
    byAddress.release(entry.address, entry.holder);
  };
  return {
    async admit(req, userId) {
      const address = options.addressOf(req);
      const holder = randomUUID();
      if (!(await byPerson.take(userId, holder))) return `at most ${options.perPerson} connections per person; close a tab or window`;
      if (!(await byAddress.take(address, holder))) {
        byPerson.release(userId, holder);
        return `at most ${options.perAddress} connections per address`;
      }
      // engine.io puts the polling response on the request; an upgrade has only the socket.
      const end: HandshakeEnd = (req as IncomingMessage & { res?: ServerResponse }).res ?? req.socket;
      const entry = {
        userId,
        address,
        holder,
        end,
        abandoned: () => {
          admitted.delete(req);
          release(entry);
        },
      };
      // The client may have hung up while the session and the counts were looked up.
      if (end.destroyed || req.socket.destroyed) release(entry);
      else {
        admitted.set(req, entry);
        end.once('close', entry.abandoned);
      }
      return null;
    },
    track(socket) {
      const entry = admitted.get(socket.request);
      if (!entry) return;
      admitted.delete(socket.request);
      entry.end.off('close', entry.abandoned);
      byPerson.keep(entry.userId, entry.holder);
      byAddress.keep(entry.address, entry.holder);
      socket.once('close', () => release(entry));
    },
  };
}
