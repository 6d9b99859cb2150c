import type { ChatIO } from './channels';

/** Heads of rooms written this long ago are announced again after a broker outage. */
const REANNOUNCE_WINDOW_MS = 10 * 60_000;

/**
 * Unread counts without telling everyone about every message: the newest seq of each
 * room this replica wrote to goes out to all people at most once per interval, in one
 * event for all such rooms. A message costs its room; the rest of the cluster pays one
 * small event per second, however fast people write.
 *
 * The same heads are how people on other replicas notice messages they missed while
 * this replica's broker link was down: announced again when it comes back.
 */
export function createRoomHeads(io: ChatIO, options: { intervalMs?: number } = {}) {
  const pending = new Map<string, number>();
  const written = new Map<string, { seq: number; at: number }>();
  let closed = false;

  const flush = () => {
    if (pending.size === 0 || closed) return;
    io.emit('rooms:heads', Object.fromEntries(pending));
    pending.clear();
  };
  const timer = setInterval(flush, options.intervalMs ?? 1000);
  timer.unref();

  return {
    /** A message with this seq was stored in the room. */
    advanced(roomId: string, seq: number) {
      if ((pending.get(roomId) ?? 0) < seq) pending.set(roomId, seq);
      if ((written.get(roomId)?.seq ?? 0) < seq) written.set(roomId, { seq, at: Date.now() });
    },

    /** Announces the heads of the rooms written lately again (their first announcement may have been lost). */
    reannounce() {
      const since = Date.now() - REANNOUNCE_WINDOW_MS;
      for (const [roomId, { seq, at }] of written) {
        if (at < since) written.delete(roomId);
        else if ((pending.get(roomId) ?? 0) < seq) pending.set(roomId, seq);
      }
      flush();
    },

    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
