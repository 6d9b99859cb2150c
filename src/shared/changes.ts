import type { ChangesPage, MessageDTO } from './protocol';
import { CatchUpDriver, HOLE_GIVE_UP_MS } from './catch-up';

/**
 * The client side of edits, deletes and reactions, shared by the browser client and the
 * tests: every change takes its room's next change number (`rev`), a message carries the rev
 * of its last change, and a client keeps, per room, the rev up to which it has applied every
 * change. A rev past the next one (live, or announced by `rooms:revs`) means a change was
 * missed: `message:changes` from that rev returns every message changed since, as it is now.
 * README.md ("Client protocol") describes the same for other clients.
 */

/** Whether `incoming` is a newer copy of a message than `held` (never go back to an older one). */
export function isNewer(held: MessageDTO | undefined, incoming: MessageDTO): boolean {
  return held === undefined || incoming.rev > held.rev;
}

/** How far one room's changes are applied. */
export class RevCursor {
  private applied: number;
  private highest: number;
  /** When a complete catch-up first left `highest` unreached (its change may still be being written). */
  private missingSince: number | null = null;

  /** `headRev`: the room's newest change when the messages held were read (a join's `room.headRev`). */
  constructor(
    readonly roomId: string,
    headRev = 0,
  ) {
    this.applied = headRev;
    this.highest = headRev;
  }

  /** Every change up to this rev is applied: catch up from it. */
  get through(): number {
    return this.applied;
  }

  /** The newest rev seen or announced. */
  get head(): number {
    return this.highest;
  }

  /** Whether a change is known to exist that was not applied. */
  get hasGap(): boolean {
    return this.highest > this.applied;
  }

  /** A change applied live (`message:changed`, or the ack of one's own edit). */
  saw(rev: number): void {
    if (rev === this.applied + 1) this.applied = rev;
    this.highest = Math.max(this.highest, rev);
    this.settle();
  }

  /** The server said the room reached `rev` (`rooms:revs`). */
  announce(rev: number): void {
    this.highest = Math.max(this.highest, rev);
  }

  /**
   * A page of `message:changes` asked from `fromRev`, applied. Pages come in rev order, so
   * everything up to its last rev is applied (a change overwritten since is in a later page,
   * with the message's newer rev). A complete answer that leaves the announced head unreached
   * is looked at again for a while (the change may be in flight), then counted as done.
   */
  applyPage(fromRev: number, page: ChangesPage, now: number): void {
    const last = page.messages.at(-1)?.rev ?? fromRev;
    this.applied = Math.max(this.applied, last);
    this.highest = Math.max(this.highest, this.applied);
    if (!page.complete || !this.hasGap) return this.settle();
    if (this.missingSince === null) this.missingSince = now;
    else if (now - this.missingSince >= HOLE_GIVE_UP_MS) this.applied = this.highest;
    this.settle();
  }

  /** Where the next `message:changes` starts (inclusive; rev 0 is every message never changed, so at least 1). */
  get fromRev(): number {
    return Math.max(1, this.applied);
  }

  private settle() {
    if (!this.hasGap) this.missingSince = null;
  }
}

export interface ChangeSyncOptions {
  /** Asks the server for the room's messages changed at or after `fromRev` (`message:changes`). */
  fetchChanges(roomId: string, fromRev: number): Promise<ChangesPage>;
  /** Every message a catch-up returned, as it is now (keep each if its rev is higher than yours). */
  onChanged(roomId: string, messages: MessageDTO[]): void;
  now?: () => number;
}

/**
 * Catch-up of a room's changes by rev (`message:changes`), as `RoomSync` does for messages;
 * when it runs is `CatchUpDriver`'s (also on rejoining a room it kept).
 */
export class ChangeSync extends CatchUpDriver<RevCursor> {
  constructor(private readonly options: ChangeSyncOptions) {
    super();
  }

  /** Starts following a room from the rev its messages were read at (a fresh join). */
  track(roomId: string, headRev: number): RevCursor {
    this.forget(roomId);
    const cursor = new RevCursor(roomId, headRev);
    this.cursors.set(roomId, cursor);
    return cursor;
  }

  cursor(roomId: string): RevCursor | undefined {
    return this.cursors.get(roomId);
  }

  /** A change seen live: noted, and a gap before it filled if it does not close by itself. */
  live(message: MessageDTO): void {
    const cursor = this.cursors.get(message.roomId);
    if (!cursor) return;
    cursor.saw(message.rev);
    this.arrivedLive(message.roomId);
  }

  protected override async fetchRound(roomId: string, cursor: RevCursor, current: () => boolean): Promise<void> {
    let from = cursor.fromRev;
    for (;;) {
      const page = await this.options.fetchChanges(roomId, from);
      if (!current()) return;
      if (page.messages.length > 0) this.options.onChanged(roomId, page.messages);
      cursor.applyPage(from, page, (this.options.now ?? Date.now)());
      if (page.complete || page.messages.length === 0) return;
      // Inclusive: the last one comes again unless the page moved past it.
      const last = page.messages.at(-1)!.rev;
      from = last > from ? last : last + 1;
    }
  }
}
