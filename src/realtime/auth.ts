import type { RequestHandler } from 'express';
import type { SessionData } from 'express-session';
import type { ChatService } from '../services/chat';
import { toErrorBody } from '../services/errors';
import type { ChatIO } from './channels';

declare module 'express-session' {
  interface SessionData {
    userId: string;
  }
}

/**
 * Only signed-in people get a socket: the handshake reads the same session cookie
 * as the HTTP app, and the socket carries who it is for its whole life.
 */
export function authenticateSockets(io: ChatIO, deps: { chat: ChatService; sessionMiddleware: RequestHandler }) {
  io.use(async (socket, next) => {
    const request = socket.request as typeof socket.request & { session?: Partial<SessionData>; sessionID?: string };
    try {
      // The socket only reads the session, so express-session gets a throwaway
      // response: it must not hook the headers of engine.io's long-lived responses.
      await new Promise<void>((resolve, reject) =>
        deps.sessionMiddleware(request as never, {} as never, (error?: unknown) => (error ? reject(error) : resolve())),
      );
      const { session, sessionID } = request;
      const userId = session?.userId;
      if (!userId || !sessionID) return next(connectError('UNAUTHORIZED', 'Sign in first'));
      const user = await deps.chat.findUser(userId);
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

function connectError(code: string, message: string): Error {
  return Object.assign(new Error(message), { data: { code, message } });
}
