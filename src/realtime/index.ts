import type { Server, Socket } from 'socket.io';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { z } from 'zod';
import type { RequestHandler } from 'express';
import type { SessionData } from 'express-session';
import type {
  Ack,
  ClientToServerEvents,
  InterServerEvents,
  PresenceDTO,
  ServerInfo,
  ServerToClientEvents,
  SocketData,
  UserDTO,
} from '../shared/protocol';
import type { ChatService } from '../services/chat';
import { ChatError, isExpected, toErrorBody } from '../services/errors';
import {
  createRoomPayload,
  firstIssue,
  historyPayload,
  joinRoomPayload,
  sendMessagePayload,
  typingPayload,
} from '../services/schemas';
import type { Config } from '../config';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';

export type ChatIO = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface RealtimeDeps {
  chat: ChatService;
  logger: Logger;
  /** The same express-session middleware the HTTP app uses. */
  sessionMiddleware: RequestHandler;
  serverInfo: () => ServerInfo;
  /** How often each replica re-sends presence for its rooms (covers replicas that died). */
  presenceRefreshMs: number;
  rateLimits: Config['rateLimits'];
  metrics: Metrics;
  /** False with the in-process adapter: there are no other replicas to ask. */
  clustered: boolean;
}

/** Socket.IO room names: one per chat room, and one per session for sign-out. */
export const roomChannel = (roomId: string) => `room:${roomId}`;
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;

declare module 'express-session' {
  interface SessionData {
    userId: string;
  }
}

/** Wires authentication and the chat's event handlers onto `io`; returns a stop function. */
export function createRealtime(io: ChatIO, deps: RealtimeDeps): { close(): Promise<void> } {
  const { chat, logger } = deps;
  const log = logger.child({ component: 'realtime' });
  // Per person and replica: generous for people, a wall for scripts.
  const sendLimiter = new RateLimiterMemory({ points: deps.rateLimits.messagesPer10s, duration: 10 });
  const createLimiter = new RateLimiterMemory({ points: deps.rateLimits.roomsPerMinute, duration: 60 });
  // Joins and history pages cost database reads and cluster-wide presence; typing crosses the broker.
  const readLimiter = new RateLimiterMemory({ points: 60, duration: 10 });
  const typingLimiter = new RateLimiterMemory({ points: 10, duration: 10 });

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
      const user = await chat.findUser(userId);
      if (!user) return next(connectError('UNAUTHORIZED', 'Sign in again'));
      const expires = session.cookie?.expires;
      socket.data = { user, sessionId: sessionID, sessionExpiresAt: expires ? new Date(expires).getTime() : null, roomId: null };
      next();
    } catch (error) {
      const body = toErrorBody(error);
      next(connectError(body.code, body.message));
    }
  });

  // Presence queries cross the broker: close() waits for them, so none is sent on a closed connection.
  const queries = new Set<Promise<unknown>>();
  let closed = false;
  const presenceOf = (roomId: string): Promise<PresenceDTO> => {
    if (closed) return Promise.reject(new Error('the server is closing'));
    const query = clusterPresence(roomId);
    queries.add(query);
    const settle = () => queries.delete(query);
    query.then(settle, settle);
    return query;
  };

  /** The distinct people among this replica's sockets in a room. */
  const localUsers = (roomId: string): UserDTO[] => {
    const users = new Map<string, UserDTO>();
    for (const id of io.of('/').adapter.rooms.get(roomChannel(roomId)) ?? []) {
      const socket = io.of('/').sockets.get(id);
      if (socket) users.set(socket.data.user.id, socket.data.user);
    }
    return [...users.values()];
  };

  // The other replicas answer with their people only: small messages, and no handshake
  // (fetchSockets would send every socket's headers, session cookie included, over the broker).
  io.on('presence:query', (roomId, answer) => {
    if (typeof roomId === 'string' && typeof answer === 'function') answer(localUsers(roomId));
  });

  const remoteUsers = (roomId: string): Promise<UserDTO[][]> => {
    if (!deps.clustered) return Promise.resolve([]);
    return new Promise((resolve) =>
      io.serverSideEmit('presence:query', roomId, (error: Error | null, answers: UserDTO[][]) => {
        // A replica that died but is not yet known dead misses the deadline: count the others.
        if (error) log.debug({ err: error, roomId }, 'presence query incomplete');
        resolve(answers ?? []);
      }),
    );
  };

  const clusterPresence = async (roomId: string): Promise<PresenceDTO> => {
    const byId = new Map<string, UserDTO>();
    for (const users of [localUsers(roomId), ...(await remoteUsers(roomId))]) {
      for (const user of users) byId.set(user.id, user);
    }
    // Socket data is set at connection; names and photos may have changed since.
    const fresh = await chat.findUsers([...byId.keys()]).catch(() => []);
    for (const user of fresh) byId.set(user.id, user);
    const users = [...byId.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { roomId, users, count: users.length };
  };

  // One presence query per room at a time: changes that arrive meanwhile are folded into one
  // more round, so a burst of joins costs a few broadcasts, not one full list per join.
  const presenceRounds = new Map<string, { again: boolean }>();
  const publishPresence = async (roomId: string) => {
    const running = presenceRounds.get(roomId);
    if (running) return void (running.again = true);
    const round = { again: true };
    presenceRounds.set(roomId, round);
    while (round.again && !closed) {
      round.again = false;
      try {
        io.to(roomChannel(roomId)).emit('presence', await presenceOf(roomId));
      } catch (error) {
        // A replica that just died answers late; the periodic refresh catches up.
        log.warn({ err: error, roomId }, 'presence update failed');
      }
    }
    presenceRounds.delete(roomId);
  };

  // Replicas that die send no "disconnect": each replica refreshes its own clients' view.
  // The same tick ends the sockets of sessions that expired since they connected.
  const refreshTimer = setInterval(() => {
    const now = Date.now();
    for (const socket of io.of('/').sockets.values()) {
      if (socket.data.sessionExpiresAt !== null && socket.data.sessionExpiresAt <= now) socket.disconnect(true);
    }
    for (const channel of io.of('/').adapter.rooms.keys()) {
      if (!channel.startsWith('room:')) continue;
      const roomId = channel.slice('room:'.length);
      presenceOf(roomId)
        .then((presence) => io.local.to(channel).emit('presence', presence))
        .catch((error) => log.debug({ err: error, roomId }, 'presence refresh failed'));
    }
  }, deps.presenceRefreshMs);
  refreshTimer.unref();

  io.on('connection', (socket: ChatSocket) => {
    const { user } = socket.data;
    socket.use((_packet, next) => {
      const expiresAt = socket.data.sessionExpiresAt;
      if (expiresAt !== null && expiresAt <= Date.now()) socket.disconnect(true);
      else next();
    });
    socket.join(sessionChannel(socket.data.sessionId));
    socket.emit('welcome', { user, server: deps.serverInfo() });

    const leaveCurrentRoom = () => {
      const previous = socket.data.roomId;
      if (!previous) return;
      socket.leave(roomChannel(previous));
      socket.data.roomId = null;
      void publishPresence(previous);
    };

    on(socket, 'room:list', null, async () => ({ rooms: await chat.listRooms() }));

    on(socket, 'room:create', createRoomPayload, async ({ name }) => {
      await consume(createLimiter, user.id, 'Too many new rooms, wait a minute');
      const room = await chat.createRoom(name);
      io.emit('room:created', room);
      return { room };
    });

    let joins = 0;
    on(socket, 'room:join', joinRoomPayload, async ({ roomId }) => {
      await consume(readLimiter, user.id, 'Too many requests, slow down');
      const join = ++joins;
      const opened = await chat.openRoom(roomId);
      // A later join overtook this one while the room loaded: the socket belongs there.
      if (join !== joins) throw new ChatError('INVALID_PAYLOAD', 'Superseded by a later room:join');
      if (socket.data.roomId !== roomId) {
        leaveCurrentRoom();
        socket.join(roomChannel(roomId));
        socket.data.roomId = roomId;
      }
      const presence = await presenceOf(roomId).catch(() => ({ roomId, users: [user], count: 1 }));
      void publishPresence(roomId);
      return { ...opened, presence };
    });

    on(socket, 'message:send', sendMessagePayload, async ({ roomId, text, clientId }) => {
      if (socket.data.roomId !== roomId) throw new ChatError('NOT_IN_ROOM', 'Join the room before sending to it');
      await consume(sendLimiter, user.id, 'You are sending too fast, slow down');
      const message = await chat.sendMessage(user, roomId, text, clientId);
      deps.metrics.messagesSent.inc();
      io.to(roomChannel(roomId)).emit('message', message);
      io.except(roomChannel(roomId)).emit('room:activity', { roomId, messageId: message.id });
      return { message };
    });

    on(socket, 'message:history', historyPayload, async ({ roomId, before, limit }) => {
      await consume(readLimiter, user.id, 'Too many requests, slow down');
      return chat.olderMessages(roomId, before, limit);
    });

    socket.on('typing', async (payload) => {
      const parsed = typingPayload.safeParse(payload);
      if (!parsed.success || socket.data.roomId !== parsed.data.roomId) return;
      // Typing is best effort: past the limit it is dropped, not answered.
      if (!(await typingLimiter.consume(socket.id).then(() => true, () => false))) return;
      socket.to(roomChannel(parsed.data.roomId)).emit('typing', { ...parsed.data, user: socket.data.user });
    });

    socket.on('disconnect', () => {
      const roomId = socket.data.roomId;
      if (roomId) void publishPresence(roomId);
    });
  });

  /** Validate → run → ack; a bad payload or a failure becomes an error ack, never a crash. */
  function on<E extends keyof ClientToServerEvents, S extends z.ZodType | null, R extends object>(
    socket: ChatSocket,
    event: E,
    schema: S,
    run: (payload: S extends z.ZodType ? z.output<S> : undefined) => Promise<R>,
  ) {
    const listener = async (...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack !== 'function') return; // every request event takes an acknowledgement
      const reply = ack as (res: Ack<R>) => void;
      try {
        let payload: unknown;
        if (schema) {
          const parsed = schema.safeParse(args.length > 1 ? args[0] : undefined);
          if (!parsed.success) throw new ChatError('INVALID_PAYLOAD', firstIssue(parsed.error));
          payload = parsed.data;
        }
        reply({ ok: true, ...(await run(payload as never)) });
      } catch (error) {
        if (!isExpected(error)) log.error({ err: error, event }, 'socket handler failed');
        const body = toErrorBody(error);
        deps.metrics.requestErrors.inc({ event, code: body.code });
        reply({ ok: false, error: body });
      }
    };
    socket.on(event, listener as never);
  }

  return {
    close: async () => {
      closed = true;
      clearInterval(refreshTimer);
      await Promise.allSettled([...queries]);
    },
  };
}

async function consume(limiter: RateLimiterMemory, key: string, message: string) {
  try {
    await limiter.consume(key);
  } catch {
    throw new ChatError('RATE_LIMITED', message);
  }
}

function connectError(code: string, message: string): Error {
  return Object.assign(new Error(message), { data: { code, message } });
}
