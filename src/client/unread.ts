import type { ReadPosition, RoomDTO } from '../shared/protocol';

interface Position {
  seq: number;
  /** Seqs of messages that mention the person, above `seq` once counted. */
  mentions: Set<number>;
}

/**
 * Unread and mention counts from what the server keeps: each room's newest seq (the room
 * lists, `rooms:heads`, messages shown) and the person's read positions (`read:list`,
 * `read:updated`, live `mention` notices). The server's positions are the same in every
 * tab and after a reload, so the counts are too.
 *
 * A room with no position: a public room never opened counts nothing, a direct conversation
 * counts every message (it was started for this person).
 */
export class ReadState {
  private readonly heads = new Map<string, number>();
  private readonly kinds = new Map<string, RoomDTO['kind']>();
  private readonly positions = new Map<string, Position>();

  /** Rooms as listed, created or opened. */
  known(rooms: readonly Pick<RoomDTO, 'id' | 'headSeq' | 'kind'>[]): void {
    for (const room of rooms) {
      this.kinds.set(room.id, room.kind);
      this.head(room.id, room.headSeq);
    }
  }

  /** The room reached `seq` (a head announcement, a message shown). */
  head(roomId: string, seq: number): void {
    this.heads.set(roomId, Math.max(this.heads.get(roomId) ?? 0, seq));
  }

  /** Positions from the server (`read:list`, `read:updated`, a `read:mark` ack): they only move forward. */
  apply(reads: readonly ReadPosition[]): void {
    for (const read of reads) {
      const position = this.position(read.roomId, read.seq);
      position.seq = Math.max(position.seq, read.seq);
      for (const seq of read.mentions) position.mentions.add(seq);
      this.prune(position);
    }
  }

  /** A live mention (`mention`): unread until read, as the server counts it too. */
  mention(notice: { roomId: string; seq: number }): void {
    // Like the server: a person with no position gets one just before the mention.
    const position = this.position(notice.roomId, notice.seq - 1);
    if (notice.seq > position.seq) position.mentions.add(notice.seq);
    this.head(notice.roomId, notice.seq);
  }

  /** The person saw the room up to `seq` here (0: an empty room); returns whether that moved or made their position. */
  read(roomId: string, seq: number): boolean {
    const position = this.positions.get(roomId);
    if (position && position.seq >= seq) return false;
    this.apply([{ roomId, seq, mentions: [] }]);
    return true;
  }

  /** The person's position in the room, if any. */
  readSeq(roomId: string): number | undefined {
    return this.positions.get(roomId)?.seq;
  }

  unread(roomId: string): number {
    const head = this.heads.get(roomId) ?? 0;
    const position = this.positions.get(roomId);
    if (position) return Math.max(0, head - position.seq);
    return this.kinds.get(roomId) === 'direct' ? head : 0;
  }

  mentions(roomId: string): number {
    return this.positions.get(roomId)?.mentions.size ?? 0;
  }

  private position(roomId: string, seqIfNew: number): Position {
    let position = this.positions.get(roomId);
    if (!position) this.positions.set(roomId, (position = { seq: Math.max(0, seqIfNew), mentions: new Set() }));
    return position;
  }

  private prune(position: Position) {
    for (const seq of position.mentions) if (seq <= position.seq) position.mentions.delete(seq);
  }
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * Sends `read:mark` for what the person saw, at most once per `intervalMs` per room and only
 * forward: the newest position waits for the interval instead of each message sending one.
 * A send that fails (disconnected, refused) is tried again by the next `mark`.
 */
export class ReadMarker {
  /** The highest seq sent or confirmed by the server, per room. */
  private readonly sent = new Map<string, number>();
  private readonly waiting = new Map<string, { seq: number; timer: Timer }>();
  private readonly lastSentAt = new Map<string, number>();

  constructor(
    private readonly send: (roomId: string, seq: number) => Promise<boolean>,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The server has the person at `seq` (its answer, `read:list`, `read:updated`): nothing below is sent. */
  confirmed(roomId: string, seq: number): void {
    this.sent.set(roomId, Math.max(this.sent.get(roomId) ?? 0, seq));
  }

  mark(roomId: string, seq: number): void {
    if (seq <= (this.sent.get(roomId) ?? -1)) return;
    const waiting = this.waiting.get(roomId);
    if (waiting) return void (waiting.seq = Math.max(waiting.seq, seq));
    const wait = (this.lastSentAt.get(roomId) ?? -Infinity) + this.intervalMs - this.now();
    if (wait <= 0) return this.transmit(roomId, seq);
    const entry = { seq, timer: setTimeout(() => this.flush(roomId), wait) };
    this.waiting.set(roomId, entry);
  }

  /** Drops what waits (signed out, page closing). */
  stop(): void {
    for (const { timer } of this.waiting.values()) clearTimeout(timer);
    this.waiting.clear();
  }

  private flush(roomId: string) {
    const entry = this.waiting.get(roomId);
    this.waiting.delete(roomId);
    if (entry && entry.seq > (this.sent.get(roomId) ?? -1)) this.transmit(roomId, entry.seq);
  }

  private transmit(roomId: string, seq: number) {
    const before = this.sent.get(roomId);
    this.sent.set(roomId, seq);
    this.lastSentAt.set(roomId, this.now());
    const failed = () => {
      if (this.sent.get(roomId) !== seq) return;
      if (before === undefined) this.sent.delete(roomId);
      else this.sent.set(roomId, before);
    };
    void this.send(roomId, seq).then((ok) => ok || failed(), failed);
  }
}
