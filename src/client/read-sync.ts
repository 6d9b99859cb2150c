import type { ReadPosition } from '../shared/protocol';
import { ACK_TIMEOUT_MS, Refused, type ChatSocket } from './socket';
import { ReadMarker, ReadState } from './unread';

/**
 * Read positions kept by the server, on this page: loaded at every connection (`read:list`),
 * moved by what the person sees here (`read:mark`, at most about once a second) and by their
 * other tabs and devices (`read:updated`), and by mentions arriving live. `changed` is told
 * whenever a count may have changed.
 */
export class ReadSync {
  readonly state = new ReadState();
  private readonly marker: ReadMarker;

  constructor(
    private readonly socket: ChatSocket,
    private readonly changed: () => void,
  ) {
    this.marker = new ReadMarker(async (roomId, seq) => {
      const res = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('read:mark', { roomId, seq });
      if (res.ok) this.apply([res.read]);
      return res.ok;
    });
    socket.on('read:updated', (read) => this.apply([read]));
    socket.on('mention', (notice) => {
      this.state.mention(notice);
      this.changed();
    });
    socket.on('rooms:heads', (heads) => {
      for (const [roomId, seq] of Object.entries(heads)) if (typeof seq === 'number') this.state.head(roomId, seq);
      this.changed();
    });
  }

  /** The person's positions as the server has them now; throws when it does not answer. */
  async load(): Promise<void> {
    const res = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('read:list', {});
    if (!res.ok) throw new Refused(res.error.message);
    this.apply(res.reads);
  }

  /**
   * The person saw the room up to `seq` (the open room of a visible page). An empty room opened
   * counts too (seq 0): from then on its messages are unread until seen.
   */
  seen(roomId: string, seq: number): void {
    if (seq < 0) return;
    this.state.head(roomId, seq);
    if (this.state.read(roomId, seq)) this.changed();
    this.marker.mark(roomId, seq);
  }

  private apply(reads: readonly ReadPosition[]) {
    this.state.apply(reads);
    for (const read of reads) this.marker.confirmed(read.roomId, read.seq);
    this.changed();
  }
}
