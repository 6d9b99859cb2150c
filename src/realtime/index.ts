import type { RequestHandler } from 'express';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { ServerInfo, UserDTO } from '../shared/protocol';
import type { ChatService } from '../services/chat';
import type { Config } from '../config';
import type { Limiters } from '../lib/limiters';
import type { Logger } from '../lib/logger';
import type { Metrics } from '../lib/metrics';
import { authenticateSockets, stillSignedIn, type SessionUser } from './auth';
import { personChannel, sessionChannel, type ChatIO, type ChatSocket } from './channels';
import { requestListener, type RequestListener } from './handler';
import { createRoomHeads } from './heads';
import { changeHandlers } from './changes';
import { directHandlers } from './direct';
import { createMentionNotices } from './mentions';
import { messageHandlers } from './messages';
import { createPresence, type Presence } from './presence';
import { readHandlers } from './reads';
import { roomHandlers, roomLimiters } from './rooms';
import { typingHandlers, typingLimiter } from './typing';

export { personChannel, roomChannel, sessionChannel, type ChatIO } from './channels';

export interface RealtimeDeps {
  chat: ChatService;
  logger: Logger;
  /** Who a session is for while it is valid (its epoch is current), else null. */
  sessionUser: SessionUser;
  /** The same express-session middleware the HTTP app uses. */
  sessionMiddleware: RequestHandler;
  serverInfo: () => ServerInfo;
  rateLimits: Config['rateLimits'];
  /** Where rate limits count: shared by all replicas when a Redis is configured. */
  limiters: Limiters;
  metrics: Metrics;
  /** False with the in-process adapter: there are no other replicas. */
  clustered: boolean;
  /** Presence heartbeats between replicas (the adapter's own settings). */
  heartbeat: Config['adapterHeartbeat'];
}

/** What each capability's handlers get. */
export interface HandlerContext {
  io: ChatIO;
  chat: ChatService;
  presence: Presence;
  heads: ReturnType<typeof createRoomHeads>;
  limiters: ReturnType<typeof roomLimiters> & { send: RateLimiterAbstract };
  /** MAX_ROOMS: no room is created past this many. */
  maxRooms: number;
  metrics: Metrics;
  /** Tells people a message newly mentions them (after the ack). */
  notifyMentions: ReturnType<typeof createMentionNotices>;
  on: RequestListener;
}

/** How often sockets whose session has expired are looked for. */
const SESSION_SWEEP_MS = 5000;

/** Wires authentication, presence and every capability's handlers onto `io`. */
export function createRealtime(io: ChatIO, deps: RealtimeDeps) {
  const logger = deps.logger.child({ component: 'realtime' });
  authenticateSockets(io, deps);

  const presence = createPresence(io, {
    clustered: deps.clustered,
    heartbeatIntervalMs: deps.heartbeat.intervalMs,
    heartbeatTimeoutMs: deps.heartbeat.timeoutMs,
    logger,
  });
  presence.start();
  const heads = createRoomHeads(io);
  const limiters = {
    ...roomLimiters(deps.limiters, deps.rateLimits),
    send: deps.limiters.create('send', deps.rateLimits.messagesPer10s, 10),
  };
  const typing = typingLimiter(deps.limiters);
  const notifyMentions = createMentionNotices(io, deps.chat, logger);

  const refreshSockets = (user: UserDTO) => {
    deps.chat.userChanged(user);
    for (const socket of io.of('/').sockets.values()) if (socket.data.user.id === user.id) socket.data.user = user;
  };
  // Another replica changed a person's name or photo: the sockets here carry it from now on.
  if (deps.clustered) io.on('user:updated', refreshSockets);

  const sessionSweep = setInterval(() => {
    const now = Date.now();
    for (const socket of io.of('/').sockets.values()) {
      if (socket.data.sessionExpiresAt !== null && socket.data.sessionExpiresAt <= now) socket.disconnect(true);
    }
  }, SESSION_SWEEP_MS);
  sessionSweep.unref();

  io.on('connection', (socket: ChatSocket) => {
    socket.join([sessionChannel(socket.data.sessionId), personChannel(socket.data.user.id)]);
    // No request is handled before the session is confirmed in the channels that end it.
    const signedIn = stillSignedIn(socket, deps.sessionUser);
    socket.use((_packet, next) => {
      const expiresAt = socket.data.sessionExpiresAt;
      if (expiresAt !== null && expiresAt <= Date.now()) socket.disconnect(true);
      else void signedIn.then((stays) => stays && next());
    });
    socket.emit('welcome', { user: socket.data.user, server: deps.serverInfo() });

    const context: HandlerContext = {
      io,
      chat: deps.chat,
      presence,
      heads,
      limiters,
      maxRooms: deps.rateLimits.maxRooms,
      metrics: deps.metrics,
      notifyMentions,
      on: requestListener(socket, { logger, metrics: deps.metrics }),
    };
    roomHandlers(socket, context);
    messageHandlers(socket, context);
    changeHandlers(socket, context);
    directHandlers(socket, context);
    readHandlers(socket, context);
    typingHandlers(socket, typing);
  });

  return {
    presence,

    /**
     * This replica's broker link is back: what crossed the broker meanwhile was lost. Its
     * people catch up from the store, the others learn the heads it wrote, and presence
     * is re-read from every replica.
     */
    brokerReconnected() {
      logger.info('broker link restored: asking this replica\'s people to catch up');
      presence.resync();
      heads.reannounce();
      io.local.emit('resync', { reason: 'broker-reconnected' });
    },

    /** A person's name or photo changed. */
    userUpdated(user: UserDTO) {
      io.emit('user:updated', user);
      presence.userUpdated(user);
      refreshSockets(user);
    },

    close: async () => {
      clearInterval(sessionSweep);
      heads.close();
      presence.close();
    },
  };
}
