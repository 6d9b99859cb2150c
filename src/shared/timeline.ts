import type { MessageDTO, SincePage } from './protocol';

/**
 * The client side of the delivery guarantee, shared by the browser client and the tests'
 * clients: a room's messages held by seq, each once, and the catch-up that fills what
 * live delivery missed. README.md ("Delivery guarantees") describes the same protocol
 * for other clients.
 */

/** A live message may overtake the one before it by a moment: wait this long before fetching. */
export const GAP_WAIT_MS = 300;
/** A seq that a catch-up skipped is asked for again this often: its insert may have been in flight. */
export const HOLE_GRACE_MS = 1000;
/**
 * Still absent this long after it was first missed, a seq was never used (an unmarked resend
 * or a failed insert). Longer than a store write can take while it retries collided numbers,
 * so a slow insert whose live broadcast was lost too is still found.
 */
export const HOLE_GIVE_UP_MS = 5000;

/** One room's messages: sorted by seq, deduplicated by id, and how far they are complete. */
export class RoomTimeline {
  private readonly bySeq = new Map<number, MessageDTO>();
  private readonly ids = new Set<string>();
  /** Seqs a catch-up did not return: when they were first missed. */
  private readonly holes = new Map<number, number>();
  private readonly unused = new Set<number>();
  /** Every seq up to this one is held, or known to be unused. */
  private complete = 0;
  private highest = 0;

  constructor(readonly roomId: string) {}

  /** Everything up to this seq is here: catch up from it. */
  get through(): number {
    return this.complete;
  }

  /** The newest seq held or announced. */
  get head(): number {
    return this.highest;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Starts over from a room's latest page: what is older is history, loaded on demand. */
  reset(latest: readonly MessageDTO[]): void {
    this.bySeq.clear();
    this.ids.clear();
    this.holes.clear();
    this.unused.clear();
    this.highest = 0;
    this.complete = 0;
    this.add(latest);
    // What is older than the latest page is history, not a gap.
    this.complete = this.highest;
  }

  /** Adds messages (live, history or catch-up); returns those that were new. */
  add(messages: readonly MessageDTO[]): MessageDTO[] {
    const added: MessageDTO[] = [];
    for (const message of messages) {
      if (message.roomId !== this.roomId || this.ids.has(message.id) || this.bySeq.has(message.seq)) continue;
      this.bySeq.set(message.seq, message);
      this.ids.add(message.id);
      this.holes.delete(message.seq);
      this.unused.delete(message.seq);
      this.highest = Math.max(this.highest, message.seq);
      added.push(message);
    }
    this.advance();
    return added;
  }

  /**
   * Replaces held messages by newer copies (a higher `rev`: edited, deleted or reacted to
   * since); returns the copies that replaced one. Messages not held are left to `add`.
   */
  update(messages: readonly MessageDTO[]): MessageDTO[] {
    const replaced: MessageDTO[] = [];
    for (const message of messages) {
      const held = this.bySeq.get(message.seq);
      if (message.roomId !== this.roomId || held?.id !== message.id || message.rev <= held.rev) continue;
      this.bySeq.set(message.seq, message);
      replaced.push(message);
    }
    return replaced;
  }

  /** The server said the room reached `seq` (a head announcement). */
  announce(seq: number): void {
    this.highest = Math.max(this.highest, seq);
  }

  /** Whether something after `through` is known to exist but is not here. */
  get hasGap(): boolean {
    return this.highest > this.complete;
  }

  /**
   * Applies a catch-up answer for everything after `afterSeq`. Within the range it
   * covers, a seq it did not return is a hole: asked for again every HOLE_GRACE_MS, and
   * counted as unused once HOLE_GIVE_UP_MS have passed.
   */
  applySince(afterSeq: number, page: SincePage, now: number): MessageDTO[] {
    const added = this.add(page.messages);
    const last = page.messages.at(-1)?.seq ?? afterSeq;
    // A complete answer covers everything announced so far, too.
    const coveredTo = page.complete ? Math.max(last, this.highest) : last;
    for (let seq = afterSeq + 1; seq <= coveredTo; seq += 1) {
      if (this.bySeq.has(seq) || this.unused.has(seq)) continue;
      const firstMissed = this.holes.get(seq);
      if (firstMissed === undefined) this.holes.set(seq, now);
      else if (now - firstMissed >= HOLE_GIVE_UP_MS) {
        this.holes.delete(seq);
        this.unused.add(seq);
      }
    }
    this.advance();
    return added;
  }

  /** Oldest first. */
  sorted(): MessageDTO[] {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  private advance() {
    while (this.bySeq.has(this.complete + 1) || this.unused.has(this.complete + 1)) this.complete += 1;
  }
}

export interface RoomSyncOptions {
  /** Asks the server for the room's messages after `afterSeq` (`message:since`). */
  fetchSince(roomId: string, afterSeq: number): Promise<SincePage>;
  /** Called with the messages a catch-up added. */
  onAdded(roomId: string, added: MessageDTO[]): void;
  now?: () => number;
}

/**
 * Drives catch-up for the rooms a client shows: on a gap in live delivery, on a head
 * announcement past what it has, and whenever asked (after a reconnection, a `resync`,
 * or the page becoming visible). One catch-up per room at a time; requests that arrive
 * meanwhile fold into one more round.
 */
export class RoomSync {
  private readonly rooms = new Map<string, RoomTimeline>();
  private readonly running = new Map<string, { again: boolean }>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private stopped = false;

  constructor(private readonly options: RoomSyncOptions) {}

  timeline(roomId: string): RoomTimeline {
    let timeline = this.rooms.get(roomId);
    if (!timeline) this.rooms.set(roomId, (timeline = new RoomTimeline(roomId)));
    return timeline;
  }

  forget(roomId: string): void {
    this.rooms.delete(roomId);
    clearTimeout(this.timers.get(roomId));
    this.timers.delete(roomId);
  }

  /** A live message: added, and a gap before it is filled if it does not close by itself. */
  live(message: MessageDTO): MessageDTO[] {
    const timeline = this.rooms.get(message.roomId);
    if (!timeline) return [];
    const added = timeline.add([message]);
    if (timeline.hasGap) this.schedule(message.roomId, GAP_WAIT_MS);
    return added;
  }

  /** A head announcement: catch up if the room went past what this client has. */
  head(roomId: string, seq: number): void {
    const timeline = this.rooms.get(roomId);
    if (!timeline || seq <= timeline.through) return;
    timeline.announce(seq);
    this.schedule(roomId, GAP_WAIT_MS);
  }

  /** Catch up every room now. */
  resyncAll(): void {
    for (const roomId of this.rooms.keys()) void this.catchUp(roomId);
  }

  /** Fetches everything after what the room has, page by page; holes left are re-checked later. */
  async catchUp(roomId: string): Promise<void> {
    const running = this.running.get(roomId);
    if (running) return void (running.again = true);
    const round = { again: true };
    this.running.set(roomId, round);
    try {
      while (round.again && !this.stopped) {
        round.again = false;
        const timeline = this.rooms.get(roomId);
        if (!timeline) break;
        let after = timeline.through;
        for (;;) {
          const page = await this.options.fetchSince(roomId, after);
          if (this.rooms.get(roomId) !== timeline) return;
          const added = timeline.applySince(after, page, (this.options.now ?? Date.now)());
          if (added.length > 0) this.options.onAdded(roomId, added);
          if (page.complete || page.messages.length === 0) break;
          after = page.messages.at(-1)!.seq;
        }
        // Holes left: one more look once their inserts, if any were in flight, are done.
        if (timeline.hasGap) this.schedule(roomId, HOLE_GRACE_MS);
      }
    } catch {
      // Disconnected or refused: the next reconnection or announcement tries again.
    } finally {
      this.running.delete(roomId);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(roomId: string, delayMs: number) {
    if (this.timers.has(roomId) || this.stopped) return;
    this.timers.set(
      roomId,
      setTimeout(() => {
        this.timers.delete(roomId);
        const timeline = this.rooms.get(roomId);
        if (timeline?.hasGap) void this.catchUp(roomId);
      }, delayMs),
    );
  }
}
