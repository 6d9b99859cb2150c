/** A message typed here that the server has not acknowledged yet. */
export interface OutboxItem {
  /** Sent with every attempt: the server stores a clientId once, so re-sending is safe. */
  clientId: string;
  roomId: string;
  text: string;
  createdAt: string;
  /** queued: waits for a connection; sending: awaiting the ack; failed: refused, waits for the person. */
  status: 'queued' | 'sending' | 'failed';
  error: string | null;
  /** Sent at least once without an answer: the server may have stored it, so the next attempt says so. */
  attempted: boolean;
}

/** randomUUID exists only in secure contexts (HTTPS, localhost); plain-HTTP demos on a LAN address need the fallback. */
function newClientId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Unacknowledged messages in the order they were typed; they survive disconnections, not reloads. */
export class Outbox {
  private readonly items = new Map<string, OutboxItem>();

  add(roomId: string, text: string): OutboxItem {
    const item: OutboxItem = {
      clientId: newClientId(),
      roomId,
      text,
      createdAt: new Date().toISOString(),
      status: 'queued',
      error: null,
      attempted: false,
    };
    this.items.set(item.clientId, item);
    return item;
  }

  get(clientId: string): OutboxItem | undefined {
    return this.items.get(clientId);
  }

  delete(clientId: string): boolean {
    return this.items.delete(clientId);
  }

  inRoom(roomId: string): OutboxItem[] {
    return [...this.items.values()].filter((item) => item.roomId === roomId);
  }

  /** The next message to send to `roomId`, unless one is already on its way (sending one at a time keeps the order). */
  next(roomId: string): OutboxItem | undefined {
    const waiting = this.inRoom(roomId).filter((item) => item.status !== 'failed');
    return waiting.some((item) => item.status === 'sending') ? undefined : waiting[0];
  }

  /** After a disconnection no ack will come: everything in flight goes back to the queue. */
  requeue(): void {
    for (const item of this.items.values()) if (item.status === 'sending') item.status = 'queued';
  }
}
