import type { RoomDTO, UserDTO } from '../shared/protocol';
import { avatar, byId, h } from './dom';

export interface RoomCounts {
  unread(roomId: string): number;
  mentions(roomId: string): number;
}

const badgeNumber = (count: number) => (count > 99 ? '99+' : String(count));

/**
 * The sidebar's conversations: the public rooms (oldest first, as listed) and below them the
 * direct conversations (newest first), each with its unread and mention counts, and the
 * form that creates a room.
 */
export class Sidebar {
  private rooms: RoomDTO[] = [];
  private directs: RoomDTO[] = [];
  private readonly ui = {
    rooms: byId('room-list', HTMLUListElement),
    directs: byId('dm-list', HTMLUListElement),
    directsEmpty: byId('dm-empty', HTMLElement),
    form: byId('room-form', HTMLFormElement),
    name: byId('room-name', HTMLInputElement),
    error: byId('room-error', HTMLElement),
  };

  constructor(
    private readonly counts: RoomCounts,
    private readonly open: (roomId: string) => void,
    create: (name: string) => Promise<string | null>,
  ) {
    this.ui.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.ui.error.textContent = '';
      void create(this.ui.name.value).then((error) => {
        if (error) this.ui.error.textContent = error;
        else this.ui.name.value = '';
      });
    });
  }

  /** Every room and conversation shown. */
  all(): RoomDTO[] {
    return [...this.rooms, ...this.directs];
  }

  find(roomId: string): RoomDTO | undefined {
    return this.rooms.find((r) => r.id === roomId) ?? this.directs.find((r) => r.id === roomId);
  }

  /** The default room (`general`), else the first one. */
  fallback(defaultName: string): RoomDTO | undefined {
    return this.rooms.find((r) => r.name === defaultName) ?? this.rooms[0];
  }

  /** The room list as the server gave it; rooms announced while it was read stay (rooms are never removed). */
  setRooms(rooms: readonly RoomDTO[]): void {
    const listed = new Set(rooms.map((r) => r.id));
    this.rooms = [...rooms, ...this.rooms.filter((r) => !listed.has(r.id))];
  }

  /** The conversations as the server gave them (newest first); ones opened meanwhile stay on top. */
  setDirects(directs: readonly RoomDTO[]): void {
    const listed = new Set(directs.map((r) => r.id));
    this.directs = [...this.directs.filter((r) => !listed.has(r.id)), ...directs];
  }

  /** Adds a room or conversation not listed yet (created, opened, or opened by someone else); true if it was new. */
  add(room: RoomDTO): boolean {
    if (this.find(room.id)) return false;
    if (room.kind === 'direct') this.directs.unshift(room);
    else this.rooms.push(room);
    return true;
  }

  /** A person changed their photo: their conversation shows it. */
  updatePeer(user: UserDTO): void {
    this.directs = this.directs.map((d) => (d.peer?.id === user.id ? { ...d, peer: user, name: user.name } : d));
  }

  showError(text: string): void {
    this.ui.error.textContent = text;
  }

  render(currentId: string | null): void {
    // Counts change every second or so: the entry that has the keyboard focus keeps it.
    const focused = document.activeElement instanceof HTMLElement ? document.activeElement.closest<HTMLElement>('.room-link')?.dataset.roomId : undefined;
    this.ui.rooms.replaceChildren(...this.rooms.map((room) => this.entry(room, currentId)));
    this.ui.directs.replaceChildren(...this.directs.map((room) => this.entry(room, currentId)));
    this.ui.directsEmpty.hidden = this.directs.length > 0;
    if (!focused) return;
    const selector = `.room-link[data-room-id="${CSS.escape(focused)}"]`;
    (this.ui.rooms.querySelector<HTMLElement>(selector) ?? this.ui.directs.querySelector<HTMLElement>(selector))?.focus();
  }

  /** Unread messages in every room but `exceptId` (the one being read), for the page title. */
  totalUnread(exceptId: string | null): number {
    return this.all().reduce((sum, room) => sum + (room.id === exceptId ? 0 : this.counts.unread(room.id)), 0);
  }

  private entry(room: RoomDTO, currentId: string | null): HTMLLIElement {
    const current = room.id === currentId;
    const unread = current ? 0 : this.counts.unread(room.id);
    const mentions = current ? 0 : this.counts.mentions(room.id);
    const marker =
      room.kind === 'direct' && room.peer
        ? avatar(room.peer, 'sm')
        : h('span', { className: 'room-hash', text: '#', attrs: { 'aria-hidden': 'true' } });
    const button = h('button', { className: 'room-link', attrs: { type: 'button' } }, [marker, h('span', { className: 'room-link-name', text: room.name })]);
    button.dataset.roomId = room.id;
    if (current) button.setAttribute('aria-current', 'true');
    if (mentions > 0) {
      button.classList.add('has-mentions');
      button.append(
        h('span', { className: 'mention-badge', text: `@${badgeNumber(mentions)}`, attrs: { 'aria-hidden': 'true', title: `${mentions} mention${mentions === 1 ? '' : 's'}` } }),
        h('span', { className: 'visually-hidden', text: `, ${mentions} mention${mentions === 1 ? '' : 's'}` }),
      );
    }
    if (unread > 0) {
      button.classList.add('has-unread');
      button.append(
        h('span', { className: 'unread-badge', text: badgeNumber(unread), attrs: { 'aria-hidden': 'true' } }),
        h('span', { className: 'visually-hidden', text: `, ${unread} unread` }),
      );
    }
    button.addEventListener('click', () => this.open(room.id));
    return h('li', {}, [button]);
  }
}
