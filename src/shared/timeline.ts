import { CatchUpDriver, HOLE_GIVE_UP_MS } from './catch-up';
import type { MessageDTO, SincePage } from './protocol';

/**
 * The client side of the delivery guarantee, shared by the browser client and the tests'
 * clients: a room's messages held by seq, each once, and the catch-up that fills what
 * live delivery missed. README.md ("Delivery guarantees") describes the same protocol
 * for other clients.
 */

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

/** Catch-up of a room's messages by seq (`message:since`); when it runs is `CatchUpDriver`'s. */
export class RoomSync extends CatchUpDriver<RoomTimeline> {
  constructor(private readonly options: RoomSyncOptions) {
    super();
  }

  timeline(roomId: string): RoomTimeline {
    let timeline = this.cursors.get(roomId);
    if (!timeline) this.cursors.set(roomId, (timeline = new RoomTimeline(roomId)));
    return timeline;
  }

  /** A live message: added, and a gap before it is filled if it does not close by itself. */
  live(message: MessageDTO): MessageDTO[] {
    const timeline = this.cursors.get(message.roomId);
    if (!timeline) return [];
    const added = timeline.add([message]);
    this.arrivedLive(message.roomId);
    return added;
  }

  protected override async fetchRound(roomId: string, timeline: RoomTimeline, current: () => boolean): Promise<void> {
    let after = timeline.through;
    for (;;) {
      const page = await this.options.fetchSince(roomId, after);
      if (!current()) return;
      const added = timeline.applySince(after, page, (this.options.now ?? Date.now)());
      if (added.length > 0) this.options.onAdded(roomId, added);
      if (page.complete || page.messages.length === 0) return;
      after = page.messages.at(-1)!.seq;
    }
  }
}
