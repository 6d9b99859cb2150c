import { isNewer } from '../shared/changes';
import type { MessageDTO, ReactionEmoji, UserDTO } from '../shared/protocol';
import { h } from './dom';
import { IDLE, messageRow, messageShell, type RowState } from './message-row';
import type { OutboxItem } from './outbox';

/** Consecutive messages from one author within this time share one header. */
const GROUP_MS = 5 * 60_000;

/** How the list scrolls after a render. */
export type ScrollMode = 'bottom' | 'follow' | 'keep';

/** What the person can ask about a message; each answers with the server's refusal, or null. */
export interface MessageActions {
  retry(clientId: string): void;
  discard(clientId: string): void;
  edit(message: MessageDTO, text: string): Promise<string | null>;
  remove(message: MessageDTO): Promise<string | null>;
  react(message: MessageDTO, emoji: ReactionEmoji, on: boolean): Promise<string | null>;
}

interface Row {
  key: string;
  author: UserDTO;
  createdAt: string;
  build: () => HTMLElement;
}

/**
 * The messages of the open room: confirmed ones by id (each the newest copy by `rev`, so
 * merging history or a late catch-up never goes back), in seq order, followed by our own
 * pending ones. Rendering reuses each row's element while its message and state are the same,
 * so a merge or a new message does not rebuild the list.
 */
export class MessageView {
  private readonly confirmed = new Map<string, MessageDTO>();
  private readonly states = new Map<string, RowState>();
  private nodes = new Map<string, HTMLElement>();
  private me: UserDTO | null = null;
  private pending: readonly OutboxItem[] = [];

  constructor(
    private readonly list: HTMLOListElement,
    private readonly scroller: HTMLElement,
    private readonly empty: HTMLElement,
    private readonly actions: MessageActions,
    /** How long after sending your messages may be changed (ms), if the page was told. */
    private readonly editWindowMs: number | null,
  ) {}

  reset(messages: readonly MessageDTO[]): void {
    this.confirmed.clear();
    this.states.clear();
    this.merge(messages);
  }

  /** Adds messages and replaces held ones by newer copies; returns whether anything changed. */
  merge(messages: readonly MessageDTO[]): boolean {
    let changed = false;
    for (const message of messages) {
      if (!isNewer(this.confirmed.get(message.id), message)) continue;
      this.confirmed.set(message.id, message);
      changed = true;
    }
    return changed;
  }

  get(id: string): MessageDTO | undefined {
    return this.confirmed.get(id);
  }

  hasClientId(clientId: string): boolean {
    for (const message of this.confirmed.values()) if (message.clientId === clientId) return true;
    return false;
  }

  updateAuthor(user: UserDTO): void {
    for (const [id, message] of this.confirmed) {
      if (message.author.id === user.id) this.confirmed.set(id, { ...message, author: user });
    }
  }

  render(me: UserDTO, pending: readonly OutboxItem[], scroll: ScrollMode): void {
    this.me = me;
    this.pending = pending;
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    const atBottom = fromBottom - this.scroller.clientHeight < 48;
    // A rebuilt row must not take the keyboard focus away (the editor, a reaction button).
    const focused = this.focusedKey();

    // The room's sequence is the order everyone sees, whatever the clocks of the replicas.
    const sorted = [...this.confirmed.values()].sort((a, b) => a.seq - b.seq);
    const rows: Row[] = [
      ...sorted.map((m) => {
        const state = this.states.get(m.id) ?? IDLE;
        const editable = this.editable(m, me);
        return {
          // What the row shows is in its key, so a change rebuilds that one row.
          key: `${m.id}:${m.rev}:${m.author.avatarUrl}:${editable}:${state.mode}:${state.busy}:${state.picker}:${state.error}`,
          author: m.author,
          createdAt: m.createdAt,
          build: () => messageRow(m, me, editable, state, this.handlers(m.id)),
        };
      }),
      ...pending.map((p) => ({
        key: `pending:${p.clientId}:${p.status}`,
        author: me,
        createdAt: p.createdAt,
        build: () => this.pendingRow(p, me),
      })),
    ];

    const nodes = new Map<string, HTMLElement>();
    const elements = rows.map((row, index) => {
      const element = this.nodes.get(row.key) ?? row.build();
      element.dataset.key = row.key;
      nodes.set(row.key, element);
      const previous = rows[index - 1];
      const continued =
        previous !== undefined &&
        previous.author.id === row.author.id &&
        Date.parse(row.createdAt) - Date.parse(previous.createdAt) < GROUP_MS;
      element.classList.toggle('continued', continued);
      return element;
    });
    this.nodes = nodes;
    this.list.replaceChildren(...elements);
    this.empty.hidden = elements.length > 0;
    if (focused) this.restoreFocus(focused);

    if (scroll === 'bottom' || (scroll === 'follow' && atBottom)) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    } else if (scroll === 'keep') {
      // Older messages were added above: keep the ones being read in place.
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    }
  }

  private rerender() {
    if (this.me) this.render(this.me, this.pending, 'follow');
  }

  private editable(message: MessageDTO, me: UserDTO): boolean {
    if (message.author.id !== me.id || message.deleted) return false;
    if (this.editWindowMs === null) return true; // the server decides, and says so
    return this.editWindowMs > 0 && Date.now() - Date.parse(message.createdAt) < this.editWindowMs;
  }

  private setState(id: string, change: Partial<RowState>) {
    const next = { ...(this.states.get(id) ?? IDLE), ...change };
    if (next.mode === 'view' && !next.busy && !next.error && !next.picker) this.states.delete(id);
    else this.states.set(id, next);
    this.rerender();
  }

  /** Runs a request about a message: busy meanwhile, then back to viewing it, or its error shown. */
  private async run(id: string, request: () => Promise<string | null>, keep: Partial<RowState> = {}) {
    this.setState(id, { busy: true, error: null });
    const error = await request();
    this.setState(id, error ? { busy: false, error, ...keep } : { ...IDLE });
    // Refused while editing: the editor is back, with what was typed, to try again or cancel.
    if (error && keep.mode === 'edit') this.focusIn(id, '.message-editor');
  }

  private focusIn(id: string, selector: string) {
    this.list.querySelector<HTMLElement>(`[data-message-id="${CSS.escape(id)}"] ${selector}`)?.focus();
  }

  private handlers(id: string) {
    const message = () => this.confirmed.get(id)!;
    return {
      startEdit: () => {
        this.setState(id, { mode: 'edit', draft: message().text, error: null, picker: false });
        this.focusIn(id, '.message-editor');
      },
      draft: (text: string) => void this.states.set(id, { ...(this.states.get(id) ?? IDLE), draft: text }),
      saveEdit: (text: string) => {
        const trimmed = text.trim();
        if (trimmed === message().text) return this.setState(id, { ...IDLE });
        void this.run(id, () => this.actions.edit(message(), trimmed), { mode: 'edit', draft: text });
      },
      askDelete: () => {
        this.setState(id, { mode: 'confirm-delete', error: null, picker: false });
        this.focusIn(id, '.message-confirm .danger');
      },
      confirmDelete: () => void this.run(id, () => this.actions.remove(message())),
      cancel: () => this.setState(id, { ...IDLE }),
      react: (emoji: ReactionEmoji, on: boolean) => void this.run(id, () => this.actions.react(message(), emoji, on)),
      setPicker: (open: boolean) => {
        this.setState(id, { picker: open, error: null });
        if (open) this.focusIn(id, '.reaction-choice');
      },
    };
  }

  /** Which row and control have the focus, to give it back after a rebuild. */
  private focusedKey(): { id: string; selector: string } | null {
    const active = document.activeElement;
    const row = active instanceof HTMLElement ? active.closest<HTMLElement>('[data-message-id]') : null;
    if (!row || !this.list.contains(row) || !(active instanceof HTMLElement)) return null;
    const selector = active.classList.contains('message-editor')
      ? '.message-editor'
      : active.dataset.emoji
        ? `.reaction[data-emoji="${CSS.escape(active.dataset.emoji)}"]`
        : active.classList.contains('reaction-add')
          ? '.reaction-add'
          : '';
    return selector ? { id: row.dataset.messageId!, selector } : null;
  }

  private restoreFocus({ id, selector }: { id: string; selector: string }) {
    if (document.activeElement && document.activeElement !== document.body) return;
    this.focusIn(id, selector);
  }

  private pendingRow(item: OutboxItem, me: UserDTO): HTMLElement {
    const row = messageShell(me, item.createdAt, true, [h('p', { className: 'message-text', text: item.text })]);
    row.classList.add(item.status === 'failed' ? 'failed' : 'pending');
    row.dataset.clientId = item.clientId;
    const meta = row.querySelector('.message-meta')!;
    if (item.status === 'failed') {
      meta.append(
        h('span', { className: 'message-state', text: `Not sent: ${item.error ?? 'unknown error'}` }),
        this.actionButton('Retry', () => this.actions.retry(item.clientId)),
        this.actionButton('Discard', () => this.actions.discard(item.clientId)),
      );
    } else {
      meta.append(h('span', { className: 'message-state', text: 'Sending…' }));
    }
    return row;
  }

  private actionButton(label: string, onClick: () => void): HTMLButtonElement {
    const button = h('button', { className: 'link-button', text: label, attrs: { type: 'button' } });
    button.addEventListener('click', onClick);
    return button;
  }
}
