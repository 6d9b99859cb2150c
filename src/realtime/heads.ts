import type { Audience } from '../services/context';
import { personChannel, type ChatIO } from './channels';

/** Heads of rooms written this long ago are announced again after a broker outage. */
const REANNOUNCE_WINDOW_MS = 10 * 60_000;

type Counter = 'seq' | 'rev';
interface Head {
  seq: number;
  rev: number;
  audience: Audience;
}

/**
 * Unread counts without telling everyone about every message: the newest seq (messages) and
 * rev (edits, deletes, reactions) of each room this replica wrote to go out at most once per
 * interval, in one `rooms:heads` and one `rooms:revs` for all such rooms. A message costs its
 * room; the rest of the cluster pays one small event per second, however fast people write.
 * A direct conversation's heads go only to its two people.
 *
 * The same heads are how people on other replicas notice what they missed while this
 * replica's broker link was down: announced again when it comes back.
 */
export function createRoomHeads(io: ChatIO, options: { intervalMs?: number } = {}) {
  const pending = new Map<string, Head>();
  const written = new Map<string, Head & { at: number }>();
  let closed = false;

  const raise = (map: Map<string, Head>, roomId: string, counter: Counter, value: number, audience: Audience) => {
    const head = map.get(roomId) ?? { seq: 0, rev: 0, audience };
    if (head[counter] < value) head[counter] = value;
    map.set(roomId, head);
    return head;
  };

  const flush = () => {
    if (pending.size === 0 || closed) return;
    const everyone: Record<Counter, Record<string, number>> = { seq: {}, rev: {} };
    const perPerson = new Map<string, Record<Counter, Record<string, number>>>();
    for (const [roomId, head] of pending) {
      const targets = head.audience === null ? [everyone] : head.audience.map((id) => perPerson.get(id) ?? perPerson.set(id, { seq: {}, rev: {} }).get(id)!);
      for (const target of targets) {
        if (head.seq > 0) target.seq[roomId] = head.seq;
        if (head.rev > 0) target.rev[roomId] = head.rev;
      }
    }
    pending.clear();
    const send = (emit: { emit: ChatIO['emit'] }, heads: Record<Counter, Record<string, number>>) => {
      if (Object.keys(heads.seq).length > 0) emit.emit('rooms:heads', heads.seq);
      if (Object.keys(heads.rev).length > 0) emit.emit('rooms:revs', heads.rev);
    };
    send(io, everyone);
    for (const [userId, heads] of perPerson) send(io.to(personChannel(userId)), heads);
  };
  const timer = setInterval(flush, options.intervalMs ?? 1000);
  timer.unref();

  const note = (roomId: string, counter: Counter, value: number, audience: Audience) => {
    raise(pending, roomId, counter, value, audience);
    const head = written.get(roomId) ?? { seq: 0, rev: 0, audience, at: 0 };
    head[counter] = Math.max(head[counter], value);
    head.at = Date.now();
    written.set(roomId, head);
  };

  return {
    /** A message with this seq was stored in the room. */
    advanced(roomId: string, seq: number, audience: Audience = null) {
      note(roomId, 'seq', seq, audience);
    },

    /** A message of the room was edited, deleted or reacted to, taking change number `rev`. */
    changed(roomId: string, rev: number, audience: Audience = null) {
      note(roomId, 'rev', rev, audience);
    },

    /** Announces the heads of the rooms written lately again (their first announcement may have been lost). */
    reannounce() {
      const since = Date.now() - REANNOUNCE_WINDOW_MS;
      for (const [roomId, head] of written) {
        if (head.at < since) written.delete(roomId);
        else {
          raise(pending, roomId, 'seq', head.seq, head.audience);
          raise(pending, roomId, 'rev', head.rev, head.audience);
        }
      }
      flush();
    },

    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
