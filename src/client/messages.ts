import type { MessageDTO, UserDTO } from '../shared/protocol';
import { avatar, h } from './dom';
import type { OutboxItem } from './outbox';

/** Consecutive messages from one author within this time share one header. */
const GROUP_MS = 5 * 60_000;

/** How the list scrolls after a render. */
export type ScrollMode = 'bottom' | 'follow' | 'keep';

interface Row {
  key: string;
  author: UserDTO;
  createdAt: string;
  build: () => HTMLElement;
}

/**
 * The messages of the open room: confirmed ones by id (so merging history
 * never duplicates), in seq order, followed by our own pending ones. Rendering reuses each
 * row's element, so a merge or a new message does not rebuild the list.
 */
export class MessageView {
  private readonly confirmed = new Map<string, MessageDTO>();
  private nodes = new Map<string, HTMLElement>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly scroller: HTMLElement,
    private readonly empty: HTMLElement,
    private readonly actions: { retry(clientId: string): void; discard(clientId: string): void },
  ) {}

  reset(messages: readonly MessageDTO[]): void {
    this.confirmed.clear();
    this.merge(messages);
  }

  merge(messages: readonly MessageDTO[]): void {
    for (const message of messages) this.confirmed.set(message.id, message);
  }

  hasClientId(clientId: string): boolean {
    for (const message of this.confirmed.values()) if (message.clientId === clientId) return true;
    return false;
  }

  updateAuthor(user: UserDTO): void {
    for (const message of this.confirmed.values()) if (message.author.id === user.id) message.author = user;
  }

  render(me: UserDTO, pending: readonly OutboxItem[], scroll: ScrollMode): void {
    const fromBottom = this.scroller.scrollHeight - this.scroller.scrollTop;
    const atBottom = fromBottom - this.scroller.clientHeight < 48;

    // The room's sequence is the order everyone sees, whatever the clocks of the replicas.
    const sorted = [...this.confirmed.values()].sort((a, b) => a.seq - b.seq);
    const rows: Row[] = [
      ...sorted.map((m) => ({ key: m.id, author: m.author, createdAt: m.createdAt, build: () => this.messageRow(m, me) })),
      ...pending.map((p) => ({
        // The status is part of the key so a state change rebuilds that one row.
        key: `pending:${p.clientId}:${p.status}`,
        author: me,
        createdAt: p.createdAt,
        build: () => this.pendingRow(p, me),
      })),
    ];

    const nodes = new Map<string, HTMLElement>();
    const elements = rows.map((row, index) => {
      const element = this.nodes.get(row.key) ?? row.build();
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

    if (scroll === 'bottom' || (scroll === 'follow' && atBottom)) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    } else if (scroll === 'keep') {
      // Older messages were added above: keep the ones being read in place.
      this.scroller.scrollTop = this.scroller.scrollHeight - fromBottom;
    }
  }

  private messageRow(message: MessageDTO, me: UserDTO): HTMLElement {
    const row = this.row(message.author, message.createdAt, message.text, message.author.id === me.id);
    row.dataset.messageId = message.id;
    row.dataset.seq = String(message.seq);
    return row;
  }

  private pendingRow(item: OutboxItem, me: UserDTO): HTMLElement {
    const row = this.row(me, item.createdAt, item.text, true);
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

  private row(author: UserDTO, createdAt: string, text: string, mine: boolean): HTMLElement {
    const date = new Date(createdAt);
    const time = h('time', {
      className: 'message-time',
      text: date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
      attrs: { datetime: createdAt, title: date.toLocaleString() },
    });
    return h('li', { className: mine ? 'message mine' : 'message' }, [
      avatar(author),
      h('div', { className: 'message-body' }, [
        h('div', { className: 'message-meta' }, [h('span', { className: 'message-author', text: author.name }), time]),
        h('p', { className: 'message-text', text }),
      ]),
    ]);
  }

  private actionButton(label: string, onClick: () => void): HTMLButtonElement {
    const button = h('button', { className: 'link-button', text: label, attrs: { type: 'button' } });
    button.addEventListener('click', onClick);
    return button;
  }
}
