import type { MentionNotice, RoomDTO } from '../shared/protocol';
import { byId } from './dom';

/**
 * Browser notifications for mentions while the tab is hidden. Permission is asked once, from
 * the "Enable notifications" button (browsers want a click for it); refused or unsupported,
 * nothing else changes.
 */
export class MentionNotifier {
  private readonly button = byId('notifications-enable', HTMLButtonElement);

  constructor(private readonly open: (roomId: string) => void) {
    this.button.addEventListener('click', () => {
      if (!supported()) return;
      void Notification.requestPermission().then(
        () => this.renderButton(),
        () => this.renderButton(),
      );
    });
    this.renderButton();
  }

  /** Shows a notification for the mention if the person cannot see the page right now. */
  notify(notice: MentionNotice, room: RoomDTO | undefined): void {
    if (document.visibilityState !== 'hidden' || !supported() || Notification.permission !== 'granted') return;
    const where = room?.kind === 'direct' ? 'a direct message' : `#${notice.roomName}`;
    try {
      const notification = new Notification(`${notice.author.name} mentioned you in ${where}`, {
        body: notice.excerpt,
        tag: notice.messageId,
      });
      notification.addEventListener('click', () => {
        window.focus();
        this.open(notice.roomId);
        notification.close();
      });
    } catch {
      // Some browsers (Chrome on Android) only notify from a service worker: the counts still show it.
    }
  }

  private renderButton() {
    this.button.hidden = !supported() || Notification.permission !== 'default';
  }
}

function supported(): boolean {
  return typeof Notification === 'function';
}
