import type { MessageDTO, ReactionEmoji, UserDTO } from '../shared/protocol';
import { avatar, h } from './dom';
import { addReactionButton, reactionBar } from './reaction-bar';
import { segments } from './richtext';

/** What the page is doing with one message besides showing it. */
export interface RowState {
  mode: 'view' | 'edit' | 'confirm-delete';
  /** The text being edited. */
  draft: string;
  /** A request about the message is on its way. */
  busy: boolean;
  /** The server's refusal of the last request about it. */
  error: string | null;
  /** The emoji set is open. */
  picker: boolean;
}

export const IDLE: RowState = { mode: 'view', draft: '', busy: false, error: null, picker: false };

export interface RowHandlers {
  startEdit(): void;
  draft(text: string): void;
  saveEdit(text: string): void;
  askDelete(): void;
  confirmDelete(): void;
  cancel(): void;
  react(emoji: ReactionEmoji, on: boolean): void;
  setPicker(open: boolean): void;
}

/** The header every row starts with: who wrote it and when. */
export function messageShell(author: UserDTO, createdAt: string, mine: boolean, body: Node[]): HTMLLIElement {
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
      ...body,
    ]),
  ]);
}

/** The text as the page shows it: links and mentions as elements, everything else as text. */
export function messageText(message: MessageDTO, me: UserDTO): HTMLParagraphElement {
  const nodes = segments(message.text, message.mentions, me.id).map((part) => {
    if (part.kind === 'text') return document.createTextNode(part.text);
    if (part.kind === 'link') {
      return h('a', { className: 'message-link', text: part.text, attrs: { href: part.href, target: '_blank', rel: 'noopener noreferrer nofollow' } });
    }
    const mention = h('span', { className: part.self ? 'mention mention-me' : 'mention', text: part.text });
    mention.dataset.userId = part.userId;
    return mention;
  });
  return h('p', { className: 'message-text' }, nodes);
}

/**
 * A stored message: its text (or the placeholder of a deleted one), "(edited)", its
 * reactions, and for your own ones within the edit window Edit and Delete (shown on hover and
 * keyboard focus), with the inline editor and the delete confirmation in place.
 */
export function messageRow(message: MessageDTO, me: UserDTO, editable: boolean, state: RowState, on: RowHandlers): HTMLLIElement {
  const mine = message.author.id === me.id;
  const body: Node[] = [];
  if (message.deleted) {
    body.push(h('p', { className: 'message-deleted', text: 'message deleted' }));
  } else if (state.mode === 'edit') {
    body.push(editor(state, on));
  } else {
    body.push(messageText(message, me));
  }
  if (state.mode === 'confirm-delete' && !message.deleted) body.push(deleteConfirmation(state, on));
  if (state.error) body.push(h('p', { className: 'message-error', text: state.error, attrs: { role: 'alert' } }));

  const footer: Node[] = [];
  if (message.editedAt && !message.deleted) {
    footer.push(h('span', { className: 'message-edited', text: '(edited)', attrs: { title: `Edited ${new Date(message.editedAt).toLocaleString()}` } }));
  }
  const reacted = message.reactions.some((r) => r.count > 0);
  if (!message.deleted && (reacted || state.picker)) {
    footer.push(reactionBar(message, { meId: me.id, pickerOpen: state.picker, toggle: on.react, setPicker: on.setPicker }));
  }
  if (footer.length > 0) body.push(h('div', { className: 'message-footer' }, footer));

  const row = messageShell(message.author, message.createdAt, mine, body);
  row.dataset.messageId = message.id;
  row.dataset.seq = String(message.seq);
  if (message.deleted) row.classList.add('deleted');
  if (message.mentions.some((m) => m.id === me.id)) row.classList.add('mentions-me');
  if (!message.deleted && state.mode === 'view') {
    const tools: HTMLElement[] = reacted ? [] : [addReactionButton({ pickerOpen: state.picker, setPicker: on.setPicker })];
    if (mine && editable) tools.push(...ownActions(on, state.busy));
    if (tools.length > 0) row.append(h('div', { className: 'message-actions', attrs: { role: 'group', 'aria-label': 'Message actions' } }, tools));
  }
  return row;
}

function ownActions(on: RowHandlers, busy: boolean): HTMLButtonElement[] {
  const edit = button('Edit', 'Edit this message', on.startEdit);
  const remove = button('Delete', 'Delete this message', on.askDelete);
  edit.disabled = remove.disabled = busy;
  return [edit, remove];
}

function editor(state: RowState, on: RowHandlers): HTMLElement {
  const input = h('textarea', { className: 'message-editor', attrs: { 'aria-label': 'Edit message', rows: '1' } });
  input.value = state.draft;
  input.disabled = state.busy;
  input.addEventListener('input', () => on.draft(input.value));
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      on.cancel();
    } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      on.saveEdit(input.value);
    }
  });
  const save = button('Save', 'Save the edit', () => on.saveEdit(input.value));
  const cancel = button('Cancel', 'Cancel the edit', on.cancel);
  save.disabled = state.busy;
  return h('div', { className: 'message-editing' }, [
    input,
    h('div', { className: 'message-editing-actions' }, [
      h('span', { className: 'composer-hint', text: 'Enter to save, Escape to cancel' }),
      save,
      cancel,
    ]),
  ]);
}

function deleteConfirmation(state: RowState, on: RowHandlers): HTMLElement {
  const yes = button('Delete', 'Yes, delete it', on.confirmDelete);
  yes.classList.add('danger');
  const no = button('Cancel', 'Keep the message', on.cancel);
  yes.disabled = state.busy;
  const box = h('div', { className: 'message-confirm', attrs: { role: 'group', 'aria-label': 'Delete this message?' } }, [
    h('span', { text: 'Delete this message for everyone?' }),
    yes,
    no,
  ]);
  box.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.stopPropagation();
    on.cancel();
  });
  return box;
}

function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const element = h('button', { className: 'link-button', text: label, attrs: { type: 'button', title } });
  element.addEventListener('click', onClick);
  return element;
}
