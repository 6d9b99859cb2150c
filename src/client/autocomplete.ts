import type { UserDTO } from '../shared/protocol';
import { avatar, h } from './dom';
import { insertMention, matchPeople, mentionQueryAt, type MentionQuery } from './mentions';

/**
 * The `@` autocomplete of the message box: typing `@` lists the room's people (from
 * presence); arrow keys choose, Enter or Tab inserts `@Name `, Escape closes. The textarea is
 * a combobox for screen readers, the list its listbox.
 */
export class MentionAutocomplete {
  private readonly list: HTMLUListElement;
  private query: MentionQuery | null = null;
  private matches: UserDTO[] = [];
  private active = 0;
  /** The `@` whose list was closed with Escape: it stays closed until another `@`. */
  private dismissed: number | null = null;

  constructor(
    private readonly input: HTMLTextAreaElement,
    private readonly people: () => readonly UserDTO[],
    private readonly meId: () => string,
  ) {
    this.list = h('ul', { className: 'mention-list', attrs: { id: 'mention-list', role: 'listbox', 'aria-label': 'People to mention' } });
    this.list.hidden = true;
    input.parentElement!.append(this.list);
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', this.list.id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('input', () => this.update());
    input.addEventListener('click', () => this.update());
    input.addEventListener('keyup', (event) => {
      if (event.key === 'ArrowLeft' || event.key === 'ArrowRight' || event.key === 'Home' || event.key === 'End') this.update();
    });
    input.addEventListener('blur', () => this.close());
  }

  get isOpen(): boolean {
    return !this.list.hidden;
  }

  /** Handles the keys the open list uses; returns true when it took the key (the box must not act on it). */
  keydown(event: KeyboardEvent): boolean {
    if (!this.isOpen || event.isComposing) return false;
    switch (event.key) {
      case 'ArrowDown':
        this.move(1);
        break;
      case 'ArrowUp':
        this.move(-1);
        break;
      case 'Enter':
      case 'Tab':
        if (event.shiftKey) return false;
        this.pick(this.matches[this.active]!);
        break;
      case 'Escape':
        this.dismissed = this.query?.start ?? null;
        this.close();
        break;
      default:
        return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  }

  close(): void {
    this.list.hidden = true;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  /**
   * The room's people changed: someone who arrives while `@` is being typed is offered at once
   * (and someone who left is no longer), the highlighted person staying highlighted.
   */
  peopleChanged(): void {
    if (document.activeElement !== this.input) return;
    this.update(this.isOpen ? this.matches[this.active]?.id : undefined);
  }

  /** Looks at what is typed before the caret and shows or hides the list. */
  private update(keepActiveId?: string) {
    const caret = this.input.selectionStart ?? this.input.value.length;
    this.query = this.input.selectionEnd === caret ? mentionQueryAt(this.input.value, caret) : null;
    if (this.query?.start !== this.dismissed) this.dismissed = null;
    this.matches = this.query && this.dismissed === null ? matchPeople(this.people(), this.query.query, this.meId()) : [];
    if (this.matches.length === 0) return this.close();
    this.active = Math.max(0, this.matches.findIndex((user) => user.id === keepActiveId));
    this.render();
  }

  private move(by: number) {
    this.active = (this.active + by + this.matches.length) % this.matches.length;
    this.render();
  }

  private pick(user: UserDTO) {
    if (!this.query) return;
    const caret = this.input.selectionStart ?? this.input.value.length;
    const next = insertMention(this.input.value, this.query, caret, user.name);
    this.input.value = next.text;
    this.input.setSelectionRange(next.caret, next.caret);
    // Closed for this `@` from now on, also when names go on past the space ("Bob Smith").
    this.dismissed = this.query.start;
    this.close();
    // The box counts characters and signals typing on input.
    this.input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  private render() {
    this.list.replaceChildren(
      ...this.matches.map((user, index) => {
        const option = h('li', {
          className: 'mention-option',
          attrs: { id: `mention-option-${index}`, role: 'option', 'aria-selected': String(index === this.active) },
        }, [avatar(user, 'sm'), h('span', { text: user.name })]);
        // Keep the focus in the box: a click picks without blurring it.
        option.addEventListener('mousedown', (event) => event.preventDefault());
        option.addEventListener('click', () => this.pick(user));
        return option;
      }),
    );
    this.list.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.setAttribute('aria-activedescendant', `mention-option-${this.active}`);
    this.list.children[this.active]?.scrollIntoView({ block: 'nearest' });
  }
}
