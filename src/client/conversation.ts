import { ChangeSync } from '../shared/changes';
import { applyPresenceDelta } from '../shared/presence';
import type { Ack, JoinedRoom, MessageDTO, PresenceDTO, ReactionEmoji, RoomDTO, UserDTO } from '../shared/protocol';
import { RoomSync } from '../shared/timeline';
import { byId } from './dom';
import { MessageView, type ScrollMode } from './messages';
import type { OutboxItem } from './outbox';
import { ACK_TIMEOUT_MS, RETRY_MS, failureText, type ChatSocket } from './socket';
import { TypingIndicator } from './typing';

export interface ConversationOptions {
  socket: ChatSocket;
  me(): UserDTO;
  /** Our own messages not acknowledged yet, shown after the room's. */
  pending(roomId: string): readonly OutboxItem[];
  retry(clientId: string): void;
  discard(clientId: string): void;
  /** How long after sending people may change their messages (ms), if the page was told. */
  editWindowMs: number | null;
  /** A room was joined: another one (`switching`), or the same again after a reconnection. */
  opened(room: RoomDTO, switching: boolean): void;
  /** The open room shows new messages (to mark them read, settle the outbox). */
  shown(): void;
  /** The open room's people changed. */
  presenceChanged(): void;
  /** The room asked for does not exist (any more). */
  missing(roomId: string): void;
  /** A refusal to show the person (the store briefly unavailable…). */
  error(text: string): void;
}

/** A catch-up answer, or an error when refused (the driver tries again later). */
function accepted<T extends object>(res: Ack<T>): T {
  if (!res.ok) throw new Error(res.error.message);
  return res;
}

/**
 * The open room or direct conversation: joining it, its messages (history pages, live ones,
 * catch-up of missed messages and changes), what people do to them (edit, delete, react),
 * who is in it and who is typing.
 */
export class Conversation {
  room: RoomDTO | null = null;
  /** The socket is in the room now (false while joining and disconnected). */
  joined = false;
  presence: PresenceDTO | null = null;
  readonly view: MessageView;
  private joinSeq = 0;
  private nextCursor: string | null = null;
  private readonly sync: RoomSync;
  private readonly changes: ChangeSync;
  private readonly typing: TypingIndicator;
  private readonly ui = {
    kind: byId('room-kind', HTMLElement),
    heading: byId('room-name-heading', HTMLElement),
    messages: byId('messages', HTMLDivElement),
    loadOlder: byId('load-older', HTMLButtonElement),
    announcer: byId('announcer', HTMLElement),
  };

  constructor(private readonly options: ConversationOptions) {
    const { socket } = options;
    // Catch-up from the store whenever live delivery may have missed something (README: "Delivery guarantees").
    this.sync = new RoomSync({
      fetchSince: (roomId, afterSeq) =>
        socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:since', { roomId, afterSeq }).then(accepted),
      onAdded: (roomId, added) => {
        if (roomId !== this.room?.id) return;
        this.view.merge(added);
        this.options.shown();
        this.render('follow');
      },
    });
    // The same for edits, deletes and reactions, by the room's change numbers.
    this.changes = new ChangeSync({
      fetchChanges: (roomId, fromRev) =>
        socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:changes', { roomId, fromRev }).then(accepted),
      onChanged: (roomId, messages) => {
        if (roomId === this.room?.id) this.replace(messages);
      },
    });
    this.view = new MessageView(
      byId('message-list', HTMLOListElement),
      this.ui.messages,
      byId('empty-state', HTMLElement),
      {
        retry: options.retry,
        discard: options.discard,
        edit: (message, text) => this.change(() => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:edit', { roomId: message.roomId, messageId: message.id, text })),
        remove: (message) => this.change(() => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:delete', { roomId: message.roomId, messageId: message.id })),
        react: (message, emoji: ReactionEmoji, on) =>
          this.change(() => socket.timeout(ACK_TIMEOUT_MS).emitWithAck('message:react', { roomId: message.roomId, messageId: message.id, emoji, on })),
      },
      options.editWindowMs,
    );
    this.typing = new TypingIndicator((text) => (byId('typing', HTMLElement).textContent = text));
    this.ui.loadOlder.addEventListener('click', () => this.loadOlder());
    this.listen();
  }

  /** The highest seq up to which the room shows every message (what the person has seen). */
  get seenThrough(): number {
    return this.room ? this.sync.timeline(this.room.id).through : 0;
  }

  /** Opens a room: its latest page, or, for the room already shown (after a reconnection), what followed. */
  join(roomId: string): void {
    const seq = ++this.joinSeq;
    this.joined = false;
    const { socket } = this.options;
    const afterSeq = roomId === this.room?.id ? this.sync.timeline(roomId).through : undefined;
    socket.timeout(ACK_TIMEOUT_MS).emit('room:join', afterSeq === undefined ? { roomId } : { roomId, afterSeq }, (err, res) => {
      if (seq !== this.joinSeq) return;
      const retry = () => setTimeout(() => seq === this.joinSeq && socket.connected && this.join(roomId), RETRY_MS);
      if (err) return void (socket.connected && retry());
      if (!res.ok) {
        if (res.error.code === 'ROOM_NOT_FOUND') return this.options.missing(roomId);
        // e.g. the store is briefly unavailable: say so and try again.
        this.options.error(res.error.message);
        return void retry();
      }
      this.opened(res);
    });
  }

  /** Back after a reconnection: the room shown, from its last message. */
  rejoin(): void {
    if (this.room) this.join(this.room.id);
  }

  disconnected(): void {
    this.joined = false;
    this.typing.clear();
  }

  /** Catch up messages and changes of the room shown (a `resync`, the page visible again). */
  resync(): void {
    this.sync.resyncAll();
    this.changes.resyncAll();
  }

  /** The room reached `seq` (`rooms:heads`): fetch what this page missed of it. */
  head(roomId: string, seq: number): void {
    if (roomId === this.room?.id) this.sync.head(roomId, seq);
  }

  /** The room's changes reached `rev` (`rooms:revs`). */
  revs(roomId: string, rev: number): void {
    if (roomId === this.room?.id) this.changes.head(roomId, rev);
  }

  render(scroll: ScrollMode): void {
    this.view.render(this.options.me(), this.room ? this.options.pending(this.room.id) : [], scroll);
    this.ui.loadOlder.hidden = this.nextCursor === null;
  }

  /** Our own message, acknowledged: shown like a live one. */
  delivered(message: MessageDTO): void {
    this.view.merge(this.sync.live(message));
  }

  updateAuthor(user: UserDTO): void {
    this.view.updateAuthor(user);
    if (this.presence) this.presence.users = this.presence.users.map((u) => (u.id === user.id ? user : u));
  }

  private opened(joined: JoinedRoom) {
    const previous = this.room;
    const switching = joined.room.id !== previous?.id;
    const room = (this.room = joined.room);
    this.joined = true;
    if (switching && previous) this.forget(previous.id);
    const timeline = this.sync.timeline(room.id);
    if (switching) {
      timeline.reset(joined.messages);
      this.changes.track(room.id, room.headRev);
      this.view.reset(joined.messages);
      this.nextCursor = joined.nextCursor;
      this.typing.clear();
      this.ui.kind.textContent = room.kind === 'direct' ? '@' : '#';
      this.ui.heading.textContent = room.name;
    } else {
      // Back after a reconnection: what came after the last message shown, page by page, and what changed meanwhile.
      this.view.merge(timeline.add(joined.messages));
      if (!joined.caughtUp) void this.sync.catchUp(room.id);
      this.changes.cursor(room.id)?.announce(room.headRev);
      void this.changes.catchUp(room.id);
    }
    timeline.announce(room.headSeq);
    this.presence = joined.presence;
    this.options.opened(room, switching);
    this.options.shown();
    this.render(switching ? 'bottom' : 'follow');
  }

  private forget(roomId: string) {
    this.sync.forget(roomId);
    this.changes.forget(roomId);
  }

  private loadOlder() {
    const { room, nextCursor } = this;
    if (!room || nextCursor === null) return;
    this.ui.loadOlder.disabled = true;
    this.options.socket.timeout(ACK_TIMEOUT_MS).emit('message:history', { roomId: room.id, before: nextCursor }, (err, res) => {
      this.ui.loadOlder.disabled = false;
      if (err || room.id !== this.room?.id) return;
      if (!res.ok) return this.options.error(res.error.message);
      this.view.merge(this.sync.timeline(room.id).add(res.messages));
      this.nextCursor = res.nextCursor;
      this.render('keep');
      // The button is gone once everything is loaded: keep the keyboard focus in the conversation.
      if (this.nextCursor === null) this.ui.messages.focus();
    });
  }

  /** Newer copies of messages the room shows (changed live or caught up); others are left to `add`. */
  private replace(messages: readonly MessageDTO[]) {
    if (!this.room) return;
    const timeline = this.sync.timeline(this.room.id);
    const held = messages.filter((m) => timeline.has(m.id));
    timeline.update(held);
    if (this.view.merge(held)) this.render('follow');
  }

  /** An edit, delete or reaction: the changed message on success, the server's refusal otherwise. */
  private async change(request: () => Promise<Ack<{ message: MessageDTO }>>): Promise<string | null> {
    try {
      const res = await request();
      if (!res.ok) return res.error.message;
      this.changes.live(res.message);
      this.replace([res.message]);
      return null;
    } catch (error) {
      return failureText(error);
    }
  }

  private listen() {
    const { socket } = this.options;
    socket.on('message', (message) => {
      if (message.roomId !== this.room?.id) return;
      const added = this.sync.live(message);
      if (added.length === 0) return; // a duplicate: shown already
      this.view.merge(added);
      this.typing.stop(message.author.id);
      const mine = message.author.id === this.options.me().id;
      this.options.shown();
      this.render(mine ? 'bottom' : 'follow');
      if (!mine) this.ui.announcer.textContent = `${message.author.name}: ${message.text.slice(0, 300)}`;
    });

    socket.on('message:changed', (message) => {
      if (message.roomId !== this.room?.id) return;
      this.changes.live(message);
      this.replace([message]);
    });

    socket.on('presence:delta', (delta) => {
      if (!this.presence || delta.roomId !== this.presence.roomId) return;
      this.presence = applyPresenceDelta(this.presence, delta, this.options.me().id);
      this.options.presenceChanged();
    });

    socket.on('typing', ({ roomId, user, typing }) => {
      if (roomId !== this.room?.id || user.id === this.options.me().id) return;
      this.typing.update(user, typing);
    });
  }
}
