import { LIMITS, type MessageDTO, type RoomDTO, type UserDTO } from '../shared/protocol';
import { MentionAutocomplete } from './autocomplete';
import { byId } from './dom';
import type { ScrollMode } from './messages';
import { Outbox, type OutboxItem } from './outbox';
import { ACK_TIMEOUT_MS, type ChatSocket } from './socket';
import { TypingSignal } from './typing';

export interface ComposerOptions {
  socket: ChatSocket;
  /** The open room, and whether the socket is in it. */
  room(): RoomDTO | null;
  joined(): boolean;
  /** The open room's people, for `@` suggestions. */
  people(): readonly UserDTO[];
  me(): UserDTO;
  /** A message of ours was stored (its ack). */
  delivered(message: MessageDTO): void;
  render(scroll: ScrollMode): void;
}

/**
 * The message box: the character count, Enter to send, `@` suggestions, our typing signal, and
 * the outbox that keeps what was typed until the server acknowledges it (across reconnections,
 * resent with its clientId, one at a time so the order stays).
 */
export class Composer {
  readonly outbox = new Outbox();
  private readonly ui = {
    form: byId('composer', HTMLFormElement),
    input: byId('message-input', HTMLTextAreaElement),
    send: byId('send-button', HTMLButtonElement),
    count: byId('char-count', HTMLElement),
    error: byId('send-error', HTMLElement),
  };
  private readonly signal: TypingSignal;
  private readonly autocomplete: MentionAutocomplete;

  constructor(private readonly options: ComposerOptions) {
    const { input } = this.ui;
    this.signal = new TypingSignal((typing) => {
      const room = options.room();
      if (room && options.joined()) options.socket.emit('typing', { roomId: room.id, typing });
    });
    this.autocomplete = new MentionAutocomplete(input, options.people, () => options.me().id);
    this.ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.send();
    });
    input.addEventListener('keydown', (event) => {
      if (this.autocomplete.keydown(event)) return;
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
    });
    input.addEventListener('input', () => {
      this.renderCount();
      this.signal.input(input.value.trim().length > 0);
    });
    input.addEventListener('blur', () => this.signal.stop());
    this.renderCount();
  }

  /** A room was opened: the box addresses it; what was queued for it goes out. */
  opened(room: RoomDTO, switching: boolean): void {
    if (switching) {
      this.ui.error.textContent = '';
      this.ui.input.placeholder = room.kind === 'direct' ? `Message ${room.name}` : `Message #${room.name}`;
      this.autocomplete.close();
    }
    this.renderCount();
    this.flush();
  }

  /** The room's people changed: the mention suggestions follow. */
  peopleChanged(): void {
    this.autocomplete.peopleChanged();
  }

  /** Leaving a room (switching or disconnected): typing stops there. */
  leaving(): void {
    this.signal.stop();
  }

  disconnected(): void {
    this.outbox.requeue();
  }

  showError(text: string): void {
    this.ui.error.textContent = text;
  }

  /** Pending messages the server stored although their ack was lost (seen now in the room). */
  settle(stored: (clientId: string) => boolean): void {
    const room = this.options.room();
    if (!room) return;
    for (const item of this.outbox.inRoom(room.id)) if (stored(item.clientId)) this.outbox.delete(item.clientId);
  }

  retry(clientId: string): void {
    const item = this.outbox.get(clientId);
    if (!item) return;
    item.status = 'queued';
    item.error = null;
    this.ui.error.textContent = '';
    this.options.render('follow');
    this.flush();
  }

  discard(clientId: string): void {
    this.outbox.delete(clientId);
    this.ui.error.textContent = '';
    this.options.render('follow');
    this.ui.input.focus(); // the button that had the focus is gone
  }

  /** Sends the open room's next queued message; each ack sends the one after it. */
  flush(): void {
    const room = this.options.room();
    if (!room || !this.options.joined() || !this.options.socket.connected) return;
    const item = this.outbox.next(room.id);
    if (item) this.transmit(item);
  }

  private transmit(item: OutboxItem) {
    item.status = 'sending';
    const payload = { roomId: item.roomId, text: item.text, clientId: item.clientId, ...(item.attempted && { resend: true }) };
    item.attempted = true;
    this.options.socket.timeout(ACK_TIMEOUT_MS).emit('message:send', payload, (err, res) => {
      // Settled meanwhile (its live copy came first) or requeued by a disconnection: only the next one matters.
      if (this.outbox.get(item.clientId) !== item || item.status !== 'sending') return this.flush();
      if (err) {
        // Disconnected or no answer: it stays queued, and the server ignores a duplicate clientId.
        item.status = 'queued';
      } else if (res.ok) {
        this.outbox.delete(item.clientId);
        this.options.delivered(res.message);
      } else {
        item.status = 'failed';
        item.error = res.error.message;
        this.ui.error.textContent = res.error.message;
      }
      this.options.render('follow');
      this.flush();
    });
  }

  private send() {
    const { input } = this.ui;
    const text = input.value.trim();
    const room = this.options.room();
    if (!room || text.length === 0) return;
    if ([...text].length > LIMITS.messageMaxLength) {
      this.ui.error.textContent = `A message has at most ${LIMITS.messageMaxLength} characters`;
      return;
    }
    this.outbox.add(room.id, text);
    input.value = '';
    this.ui.error.textContent = '';
    this.signal.stop();
    this.autocomplete.close();
    this.renderCount();
    this.options.render('bottom');
    this.flush();
  }

  private renderCount() {
    const length = [...this.ui.input.value.trim()].length;
    const over = length > LIMITS.messageMaxLength;
    this.ui.count.textContent = over
      ? `${length} / ${LIMITS.messageMaxLength}: ${length - LIMITS.messageMaxLength} too many`
      : `${length} / ${LIMITS.messageMaxLength}`;
    this.ui.count.classList.toggle('over', over);
    this.ui.count.classList.toggle('near', !over && length > LIMITS.messageMaxLength * 0.9);
    this.ui.send.disabled = over || this.options.room() === null;
  }
}
