import type { PresenceDTO, RoomDTO, UserDTO } from '../shared/protocol';
import { avatar, byId, h } from './dom';

/** Who is in the open room, with a "Message" button that opens a direct conversation with each other person. */
export class PeopleList {
  private readonly list = byId('presence-list', HTMLUListElement);
  private readonly count = byId('online-count', HTMLElement);

  constructor(private readonly message: (user: UserDTO) => void) {}

  render(presence: PresenceDTO | null, me: UserDTO, room: RoomDTO | null): void {
    const users = presence?.users ?? [];
    this.count.textContent = String(presence?.count ?? 0);
    this.list.replaceChildren(
      ...users.map((user) => {
        const item = h('li', { className: 'person' }, [avatar(user, 'sm'), h('span', { className: 'person-name', text: user.name })]);
        if (user.id === me.id) {
          item.append(h('span', { className: 'person-you', text: '(you)' }));
        } else if (room?.kind !== 'direct') {
          const button = h('button', {
            className: 'person-message',
            text: 'Message',
            attrs: { type: 'button', 'aria-label': `Message ${user.name}`, title: `Start a direct conversation with ${user.name}` },
          });
          button.addEventListener('click', () => this.message(user));
          item.append(button);
        }
        return item;
      }),
    );
  }
}
