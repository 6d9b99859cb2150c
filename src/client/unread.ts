/** Where read markers are kept: the browser's localStorage, or any store with the same two calls. */
export interface MarkerStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Unread counts from room heads: for each room the newest seq known (the room list, head
 * announcements, messages shown) and the last seq this person saw there, kept per person
 * in storage so the counts survive a reload. A room seen for the first time starts read.
 */
export class UnreadCounts {
  private readonly heads = new Map<string, number>();
  private readonly lastRead: Map<string, number>;
  private readonly key: string;

  constructor(
    private readonly storage: MarkerStorage,
    userId: string,
  ) {
    this.key = `docker-chat.read.${userId}`;
    this.lastRead = this.load();
  }

  /** The room reached `seq` (a head announcement or the room list). */
  head(roomId: string, seq: number): void {
    this.heads.set(roomId, Math.max(this.heads.get(roomId) ?? 0, seq));
  }

  /** Rooms as listed or created: a room seen for the first time starts read. */
  known(rooms: readonly { id: string; headSeq: number }[]): void {
    for (const room of rooms) {
      this.head(room.id, room.headSeq);
      if (!this.lastRead.has(room.id)) this.lastRead.set(room.id, room.headSeq);
    }
    this.save();
  }

  /** The person has seen the room up to `seq`. */
  read(roomId: string, seq: number): void {
    if ((this.lastRead.get(roomId) ?? -1) >= seq) return;
    this.lastRead.set(roomId, seq);
    this.head(roomId, seq);
    this.save();
  }

  count(roomId: string): number {
    const head = this.heads.get(roomId) ?? 0;
    return Math.max(0, head - (this.lastRead.get(roomId) ?? head));
  }

  private load(): Map<string, number> {
    try {
      const stored = JSON.parse(this.storage.getItem(this.key) ?? '{}') as Record<string, unknown>;
      return new Map(Object.entries(stored).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
    } catch {
      return new Map();
    }
  }

  private save(): void {
    this.storage.setItem(this.key, JSON.stringify(Object.fromEntries(this.lastRead)));
  }
}
