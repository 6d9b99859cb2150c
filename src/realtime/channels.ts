import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, InterServerEvents, ServerToClientEvents, SocketData } from '../shared/protocol';

export type ChatIO = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type ChatSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/**
 * Socket.IO room names: one per chat room, one per session for sign-out, and one per person for
 * "sign out everywhere", which must reach sockets of sessions nobody remembers any more.
 */
export const roomChannel = (roomId: string) => `room:${roomId}`;
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;
export const personChannel = (userId: string) => `user:${userId}`;
