/**
 * When and how often a client catches up a room's ordered stream (messages by seq, changes
 * by rev), shared by both: `RoomSync` (timeline.ts) and `ChangeSync` (changes.ts) say how
 * to fetch and apply a stream's pages; this says when.
 */

/** A live item may overtake the one before it by a moment: wait this long before fetching. */
export const GAP_WAIT_MS = 300;
/** A number that a catch-up skipped is asked for again this often: its write may have been in flight. */
export const HOLE_GRACE_MS = 1000;
/**
 * Still absent this long after it was first missed, a number was never used (an unmarked
 * resend or a failed insert). Longer than a store write can take while it retries collided
 * numbers, so a slow insert whose live broadcast was lost too is still found.
 */
export const HOLE_GIVE_UP_MS = 5000;

/** How far a room's stream is applied, as the driver needs to know it. */
export interface StreamCursor {
  /** Everything up to this number is applied. */
  readonly through: number;
  /** A number past `through` is known to exist (seen live or announced). */
  readonly hasGap: boolean;
  /** The server said the room reached `n`. */
  announce(n: number): void;
}

/**
 * Drives catch-up for the rooms a client shows: on a gap in live delivery, on a head
 * announcement past what it has, and whenever asked (after a reconnection, a `resync`, or the
 * page becoming visible). One catch-up per room at a time; requests that arrive meanwhile fold
 * into one more round. Gaps a round leaves are looked at again after a grace.
 */
export abstract class CatchUpDriver<C extends StreamCursor> {
  protected readonly cursors = new Map<string, C>();
  private readonly running = new Map<string, { again: boolean }>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private stopped = false;

  /**
   * Fetches the stream page by page from `cursor` and applies it; stops early when `current()`
   * turns false (the room was forgotten or tracked afresh meanwhile). Throws when refused.
   */
  protected abstract fetchRound(roomId: string, cursor: C, current: () => boolean): Promise<void>;

  forget(roomId: string): void {
    this.cursors.delete(roomId);
    clearTimeout(this.timers.get(roomId));
    this.timers.delete(roomId);
  }

  /** An announcement of the room's newest number: catch up if it is past what this client applied. */
  head(roomId: string, n: number): void {
    const cursor = this.cursors.get(roomId);
    if (!cursor || n <= cursor.through) return;
    cursor.announce(n);
    this.schedule(roomId, GAP_WAIT_MS);
  }

  /** Catch up every room now. */
  resyncAll(): void {
    for (const roomId of this.cursors.keys()) void this.catchUp(roomId);
  }

  async catchUp(roomId: string): Promise<void> {
    const running = this.running.get(roomId);
    if (running) return void (running.again = true);
    const round = { again: true };
    this.running.set(roomId, round);
    try {
      while (round.again && !this.stopped) {
        round.again = false;
        const cursor = this.cursors.get(roomId);
        if (!cursor) break;
        const current = () => this.cursors.get(roomId) === cursor;
        await this.fetchRound(roomId, cursor, current);
        if (!current()) return;
        if (cursor.hasGap) this.schedule(roomId, HOLE_GRACE_MS);
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

  /** Something arrived live: a gap before it is filled if it does not close by itself. */
  protected arrivedLive(roomId: string): void {
    if (this.cursors.get(roomId)?.hasGap) this.schedule(roomId, GAP_WAIT_MS);
  }

  private schedule(roomId: string, delayMs: number) {
    if (this.timers.has(roomId) || this.stopped) return;
    this.timers.set(
      roomId,
      setTimeout(() => {
        this.timers.delete(roomId);
        if (this.cursors.get(roomId)?.hasGap) void this.catchUp(roomId);
      }, delayMs),
    );
  }
}
