import { byId } from './dom';
import type { ChatSocket } from './socket';

type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
};

/**
 * The socket's connection as the page shows it ("Reconnecting…"), and what ends it: a session
 * signed out (on the server's side, or a refused handshake) sends the person to sign in.
 */
export function watchConnection(socket: ChatSocket, hooks: { connected(): void; disconnected(): void }): void {
  const status = byId('connection', HTMLElement);
  const show = (state: ConnectionState) => {
    status.dataset.state = state;
    document.body.dataset.connection = state;
    status.textContent = CONNECTION_TEXT[state];
  };

  socket.on('connect', () => {
    show('connected');
    hooks.connected();
  });

  socket.on('disconnect', (reason) => {
    hooks.disconnected();
    // The server ends a socket itself only when its session was signed out.
    if (reason === 'io server disconnect') return location.assign('/login');
    show('reconnecting');
  });

  socket.on('connect_error', (error) => {
    const code = (error as Error & { data?: { code?: string } }).data?.code;
    if (code === 'UNAUTHORIZED') return location.assign('/login');
    // A handshake without a session is refused with a bare 403 before Socket.IO sees it: ask.
    if (!code) {
      void fetch('/api/session').then(
        (res) => res.status === 401 && location.assign('/login'),
        () => {},
      );
    }
    show('reconnecting');
    // A refusal by the server (e.g. its store is down) is not retried by Socket.IO itself.
    if (!socket.active) setTimeout(() => socket.connect(), 3000);
  });

  show('connecting');
}
