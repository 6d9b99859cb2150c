import type { RequestHandler } from 'express';
import type { SessionData } from 'express-session';
import { toErrorBody } from '../services/errors';
import type { UserDTO } from '../shared/protocol';
import type { ChatIO, ChatSocket } from './channels';

declare module 'express-session' {
  interface SessionData {
    userId: string;
  }
}

/** The user of a session, or null when it was ended ("sign out everywhere") or the user is gone. */
export type SessionUser = (userId: string, sessionEpoch: number | undefined) => Promise<UserDTO | null>;

type SessionRequest = ChatSocket['request'] & { session?: Partial<SessionData>; sessionID?: string };

/**
 * Only signed-in people get a socket: the handshake reads the same session cookie
 * as the HTTP app, and the socket carries who it is for its whole life.
 */
export function authenticateSockets(io: ChatIO, deps: { sessionUser: SessionUser; sessionMiddleware: RequestHandler }) {
  io.use(async (socket, next) => {
    const request = socket.request as SessionRequest;
    try {
      // The socket only reads the session, so express-session gets a throwaway
      // response: it must not hook the headers of engine.io's long-lived responses.
      await new Promise<void>((resolve, reject) =>
        deps.sessionMiddleware(request as never, {} as never, (error?: unknown) => (error ? reject(error) : resolve())),
      );
      const { session, sessionID } = request;
      const userId = session?.userId;
      if (!userId || !sessionID) return next(connectError('UNAUTHORIZED', 'Sign in first'));
      const user = await deps.sessionUser(userId, session.epoch);
      if (!user) return next(connectError('UNAUTHORIZED', 'Sign in again'));
      const expires = session.cookie?.expires;
      socket.data = { user, sessionId: sessionID, sessionExpiresAt: expires ? new Date(expires).getTime() : null, roomId: null };
      next();
    } catch (error) {
      const body = toErrorBody(error);
      next(connectError(body.code, body.message));
    }
  });
}

/**
 * Checks a connected socket's session once more, now that it is in its person's channel: a
 * "sign out everywhere" between the handshake's check and the join could not reach it. A socket
 * whose session ended (or that cannot be checked) is disconnected; resolves with whether it stays.
 */
export async function stillSignedIn(socket: ChatSocket, sessionUser: SessionUser): Promise<boolean> {
  const { session } = socket.request as SessionRequest;
  const user = await sessionUser(socket.data.user.id, session?.epoch).catch(() => null);
  if (!user) socket.disconnect(true);
  return user !== null;
}

function connectError(code: string, message: string): Error {
  return Object.assign(new Error(message), { data: { code, message } });
}
