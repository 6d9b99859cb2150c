import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/protocol';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Long enough for a slow store, short enough that a lost reply is retried soon. */
export const ACK_TIMEOUT_MS = 10_000;
/** Wait before asking again after no answer or a refusal that may pass (the store briefly away). */
export const RETRY_MS = 3000;

/** The page's one socket, connected by the caller once every handler is registered. */
export function createSocket(): ChatSocket {
  return io({ autoConnect: false });
}

/** A request the server answered with a refusal (`ok: false`); its message is for the person. */
export class Refused extends Error {}

/** The text to show for a request that failed: the server's refusal, or no answer at all. */
export function failureText(error: unknown): string {
  return error instanceof Refused ? error.message : 'Not connected, try again in a moment';
}
