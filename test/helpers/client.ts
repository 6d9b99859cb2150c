import { io as ioClient, type Socket } from 'socket.io-client';
import { applyPresenceDelta } from '../../src/shared/presence';
import type { Ack, ClientToServerEvents, PresenceDTO, ServerToClientEvents } from '../../src/shared/protocol';

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Signs in over the real HTTP API; returns the session cookie and the user. */
export async function signIn(baseUrl: string, name: string) {
  const res = await fetch(`${baseUrl}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const body = (await res.json()) as { user: { id: string; name: string; avatarUrl: string | null } };
  return { cookie, user: body.user };
}

/** A socket.io-client connected with a session cookie; resolves once connected. */
export async function connect(
  baseUrl: string,
  cookie: string,
  options: { transports?: ('polling' | 'websocket')[] } = {},
): Promise<ChatClient> {
  const socket: ChatClient = ioClient(baseUrl, {
    extraHeaders: { cookie },
    transports: options.transports ?? ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

export type AckOf<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]> extends [...unknown[], (res: infer R) => void]
  ? R
  : never;

/** Emits a request event and waits for its acknowledgement (payload left loose so tests can send bad input). */
export function request<E extends keyof ClientToServerEvents>(socket: ChatClient, event: E, ...args: unknown[]): Promise<AckOf<E>> {
  const withTimeout = socket.timeout(10_000) as unknown as { emitWithAck(event: string, ...args: unknown[]): Promise<AckOf<E>> };
  return withTimeout.emitWithAck(event, ...args);
}

/** Resolves with the next `event` whose payload passes `filter`. */
export function nextEvent<E extends keyof ServerToClientEvents>(
  socket: ChatClient,
  event: E,
  filter: (...payload: Parameters<ServerToClientEvents[E]>) => boolean = () => true,
  timeoutMs = 10_000,
): Promise<Parameters<ServerToClientEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener as never);
      reject(new Error(`timed out waiting for "${String(event)}"`));
    }, timeoutMs);
    const listener = (...payload: Parameters<ServerToClientEvents[E]>) => {
      if (!filter(...payload)) return;
      clearTimeout(timer);
      socket.off(event, listener as never);
      resolve(payload[0]);
    };
    socket.on(event, listener as never);
  });
}

export function expectOk<T extends object>(ack: Ack<T>): T {
  if (!ack.ok) throw new Error(`expected ok, got ${ack.error.code}: ${ack.error.message}`);
  return ack;
}

/**
 * A room's presence as a client sees it: the join's snapshot, then every delta applied.
 * `until` resolves once a condition holds (at once if it already does).
 */
export function trackPresence(socket: ChatClient, initial: PresenceDTO) {
  let current = initial;
  const waiters = new Set<() => void>();
  socket.on('presence:delta', (delta) => {
    current = applyPresenceDelta(current, delta);
    for (const check of [...waiters]) check();
  });
  return {
    get current() {
      return current;
    },
    names: () => current.users.map((u) => u.name).sort(),
    until(condition: (presence: PresenceDTO) => boolean, timeoutMs = 10_000): Promise<PresenceDTO> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(current)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(current);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`presence never matched; last: ${JSON.stringify(current)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}

export const presenceNames = (presence: PresenceDTO) => presence.users.map((u) => u.name).sort();
