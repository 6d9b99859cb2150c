import { io, type Socket } from 'socket.io-client';
import {
  DEFAULT_ROOM,
  LIMITS,
  type ClientToServerEvents,
  type JoinedRoom,
  type MessageDTO,
  type PresenceDelta,
  type PresenceDTO,
  type RoomDTO,
  type ServerInfo,
  type ServerToClientEvents,
  type UserDTO,
} from '../shared/protocol';
import { applyPresenceDelta } from '../shared/presence';
import { RoomSync } from '../shared/timeline';
import { avatar, byId, h, refreshAvatars } from './dom';
import { setupSidebar } from './layout';
import { MessageView, type ScrollMode } from './messages';
import { Outbox, type OutboxItem } from './outbox';
import { setupAvatarUpload } from './profile';
import { UnreadCounts } from './unread';
import { TypingIndicator, TypingSignal } from './typing';

type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type ConnectionState = 'connecting' | 'connected' | 'reconnecting';

const ROOM_KEY = 'docker-chat.room';
/** Long enough for a slow store, short enough that a lost reply is retried soon. */
const ACK_TIMEOUT_MS = 10_000;
const RETRY_MS = 3000;

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
};

/** The chat page: one socket, the open room, and everything the page shows about them. */
export function startChat(initialUser: UserDTO): void {
  const ui = {
    roomList: byId('room-list', HTMLUListElement),
    roomForm: byId('room-form', HTMLFormElement),
    roomName: byId('room-name', HTMLInputElement),
    roomError: byId('room-error', HTMLElement),
    roomHeading: byId('room-name-heading', HTMLElement),
    presenceList: byId('presence-list', HTMLUListElement),
    onlineCount: byId('online-count', HTMLElement),
    meAvatar: byId('me-avatar', HTMLElement),
    meName: byId('me-name', HTMLElement),
    connection: byId('connection', HTMLElement),
    instance: byId('server-instance', HTMLElement),
    broker: byId('server-broker', HTMLElement),
    messages: byId('messages', HTMLDivElement),
    loadOlder: byId('load-older', HTMLButtonElement),
    announcer: byId('announcer', HTMLElement),
    typing: byId('typing', HTMLElement),
    composer: byId('composer', HTMLFormElement),
    input: byId('message-input', HTMLTextAreaElement),
    sendButton: byId('send-button', HTMLButtonElement),
    charCount: byId('char-count', HTMLElement),
    sendError: byId('send-error', HTMLElement),
  };

  let me = initialUser;
  let rooms: RoomDTO[] = [];
  let room: RoomDTO | null = null;
  let joined = false;
  let joinSeq = 0;
  let nextCursor: string | null = null;
  let presence: PresenceDTO | null = null;
  const unread = new UnreadCounts(localStorage, initialUser.id);
  const outbox = new Outbox();

  const socket: ChatSocket = io({ autoConnect: false });
  // Catch-up from the store whenever live delivery may have missed something (README: "Delivery guarantees").
  const sync = new RoomSync({
    fetchSince: (roomId, afterSeq) =>
      socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('message:since', { roomId, afterSeq })
        .then((res) => {
          if (!res.ok) throw new Error(res.error.message);
          return res;
        }),
    onAdded: (roomId, added) => {
      if (roomId !== room?.id) return;
      view.merge(added);
      settleOutbox();
      markRead();
      renderMessages('follow');
    },
  });

  /** The open room is read up to what it shows. */
  const markRead = () => {
    if (room) unread.read(room.id, sync.timeline(room.id).head);
  };

  const unreadIn = (roomId: string) => (roomId === room?.id ? 0 : unread.count(roomId));
  const sidebar = setupSidebar();
  const view = new MessageView(byId('message-list', HTMLOListElement), ui.messages, byId('empty-state', HTMLElement), {
    retry: (clientId) => {
      const item = outbox.get(clientId);
      if (!item) return;
      item.status = 'queued';
      item.error = null;
      ui.sendError.textContent = '';
      renderMessages('follow');
      flush();
    },
    discard: (clientId) => {
      outbox.delete(clientId);
      ui.sendError.textContent = '';
      renderMessages('follow');
      ui.input.focus(); // the button that had the focus is gone
    },
  });
  const typingIndicator = new TypingIndicator((text) => (ui.typing.textContent = text));
  const typingSignal = new TypingSignal((typing) => {
    if (room && joined) socket.emit('typing', { roomId: room.id, typing });
  });

  // ---- rendering -------------------------------------------------------------------------------

  const renderMessages = (scroll: ScrollMode) => {
    view.render(me, room ? outbox.inRoom(room.id) : [], scroll);
    ui.loadOlder.hidden = nextCursor === null;
  };

  const renderMe = () => {
    ui.meName.textContent = me.name;
    ui.meAvatar.replaceChildren(avatar(me));
  };

  const renderServer = (server: ServerInfo) => {
    ui.instance.textContent = server.instance;
    ui.broker.textContent = server.broker;
  };

  const setConnection = (state: ConnectionState) => {
    ui.connection.dataset.state = state;
    document.body.dataset.connection = state;
    ui.connection.textContent = CONNECTION_TEXT[state];
  };

  const renderRooms = () => {
    ui.roomList.replaceChildren(
      ...rooms.map((r) => {
        const count = unreadIn(r.id);
        const current = r.id === room?.id;
        const button = h('button', { className: 'room-link', attrs: { type: 'button' } }, [
          h('span', { className: 'room-hash', text: '#', attrs: { 'aria-hidden': 'true' } }),
          h('span', { className: 'room-link-name', text: r.name }),
        ]);
        if (current) button.setAttribute('aria-current', 'true');
        if (count > 0) {
          button.classList.add('has-unread');
          button.append(
            h('span', { className: 'unread-badge', text: count > 99 ? '99+' : String(count), attrs: { 'aria-hidden': 'true' } }),
            h('span', { className: 'visually-hidden', text: `, ${count} unread` }),
          );
        }
        button.addEventListener('click', () => {
          sidebar.close();
          if (r.id !== room?.id) joinRoom(r.id);
        });
        return h('li', {}, [button]);
      }),
    );
    const totalUnread = rooms.reduce((sum, r) => sum + unreadIn(r.id), 0);
    document.title = `${totalUnread > 0 ? `(${totalUnread}) ` : ''}${room ? `#${room.name} · ` : ''}docker-chat`;
  };

  const renderPresence = () => {
    const users = presence?.users ?? [];
    ui.onlineCount.textContent = String(presence?.count ?? 0);
    ui.presenceList.replaceChildren(
      ...users.map((user) =>
        h('li', { className: 'person' }, [
          avatar(user, 'sm'),
          h('span', { className: 'person-name', text: user.name }),
          ...(user.id === me.id ? [h('span', { className: 'person-you', text: '(you)' })] : []),
        ]),
      ),
    );
  };

  const renderCharCount = () => {
    const length = [...ui.input.value.trim()].length;
    const over = length > LIMITS.messageMaxLength;
    ui.charCount.textContent = over
      ? `${length} / ${LIMITS.messageMaxLength}: ${length - LIMITS.messageMaxLength} too many`
      : `${length} / ${LIMITS.messageMaxLength}`;
    ui.charCount.classList.toggle('over', over);
    ui.charCount.classList.toggle('near', !over && length > LIMITS.messageMaxLength * 0.9);
    ui.sendButton.disabled = over || room === null;
  };

  // ---- rooms -----------------------------------------------------------------------------------

  /** Every page of the room list, then the rooms shown and one joined. */
  const loadRooms = (after?: string, loaded: RoomDTO[] = []) => {
    socket.timeout(ACK_TIMEOUT_MS).emit('room:list', after === undefined ? {} : { after }, (err, res) => {
      // Disconnected: the next "connect" asks again. Connected but unanswered or refused: ask again soon.
      const retry = () => setTimeout(() => socket.connected && loadRooms(), RETRY_MS);
      if (err) return void retry();
      if (!res.ok) {
        ui.roomError.textContent = res.error.message;
        return void retry();
      }
      ui.roomError.textContent = '';
      if (res.nextCursor) return loadRooms(res.nextCursor, [...loaded, ...res.rooms]);
      rooms = [...loaded, ...res.rooms];
      unread.known(rooms);
      renderRooms();
      const wanted = room?.id ?? localStorage.getItem(ROOM_KEY);
      const target = rooms.find((r) => r.id === wanted) ?? rooms.find((r) => r.name === DEFAULT_ROOM) ?? rooms[0];
      if (target) joinRoom(target.id);
    });
  };

  const joinRoom = (roomId: string) => {
    const seq = ++joinSeq;
    typingSignal.stop();
    joined = false;
    // Back in the room it shows (after a reconnection): only what came after its last message.
    const afterSeq = roomId === room?.id ? sync.timeline(roomId).through : undefined;
    socket.timeout(ACK_TIMEOUT_MS).emit('room:join', afterSeq === undefined ? { roomId } : { roomId, afterSeq }, (err, res) => {
      if (seq !== joinSeq) return;
      const retry = () => setTimeout(() => seq === joinSeq && socket.connected && joinRoom(roomId), RETRY_MS);
      if (err) return void (socket.connected && retry());
      if (!res.ok) {
        if (res.error.code === 'ROOM_NOT_FOUND' && localStorage.getItem(ROOM_KEY) === roomId) {
          localStorage.removeItem(ROOM_KEY);
          return loadRooms();
        }
        // e.g. the store is briefly unavailable: say so and try again.
        ui.sendError.textContent = res.error.message;
        return void retry();
      }
      opened(res);
    });
  };

  const opened = (joinedRoom: JoinedRoom) => {
    const switching = joinedRoom.room.id !== room?.id;
    room = joinedRoom.room;
    joined = true;
    localStorage.setItem(ROOM_KEY, room.id);
    if (!rooms.some((r) => r.id === joinedRoom.room.id)) rooms.push(joinedRoom.room);
    const timeline = sync.timeline(room.id);
    if (switching) {
      for (const r of rooms) if (r.id !== room.id) sync.forget(r.id);
      timeline.reset(joinedRoom.messages);
      view.reset(joinedRoom.messages);
      nextCursor = joinedRoom.nextCursor;
      typingIndicator.clear();
      ui.sendError.textContent = '';
      ui.roomHeading.textContent = room.name;
      ui.input.placeholder = `Message #${room.name}`;
    } else {
      // Back after a reconnection: what came after the last message shown, page by page.
      view.merge(timeline.add(joinedRoom.messages));
      if (!joinedRoom.caughtUp) void sync.catchUp(room.id);
    }
    timeline.announce(joinedRoom.room.headSeq);
    settleOutbox();
    markRead();
    presence = joinedRoom.presence;
    renderRooms();
    renderPresence();
    renderMessages(switching ? 'bottom' : 'follow');
    renderCharCount();
    flush();
  };

  /** A message sent just before a disconnection may be stored although its ack was lost. */
  const settleOutbox = () => {
    if (!room) return;
    for (const item of outbox.inRoom(room.id)) if (view.hasClientId(item.clientId)) outbox.delete(item.clientId);
  };

  /** Joins and leaves since the snapshot; the list holds at most a page of people, the count all. */
  const applyPresence = (delta: PresenceDelta) => {
    if (!presence || delta.roomId !== presence.roomId) return;
    presence = applyPresenceDelta(presence, delta, me.id);
    renderPresence();
  };

  ui.roomForm.addEventListener('submit', (event) => {
    event.preventDefault();
    ui.roomError.textContent = '';
    socket.timeout(ACK_TIMEOUT_MS).emit('room:create', { name: ui.roomName.value }, (err, res) => {
      if (err) return void (ui.roomError.textContent = 'Not connected, try again in a moment');
      if (!res.ok) return void (ui.roomError.textContent = res.error.message);
      ui.roomName.value = '';
      if (!rooms.some((r) => r.id === res.room.id)) rooms.push(res.room);
      sidebar.close();
      joinRoom(res.room.id);
    });
  });

  ui.loadOlder.addEventListener('click', () => {
    if (!room || nextCursor === null) return;
    const roomId = room.id;
    ui.loadOlder.disabled = true;
    socket.timeout(ACK_TIMEOUT_MS).emit('message:history', { roomId, before: nextCursor }, (err, res) => {
      ui.loadOlder.disabled = false;
      if (err || roomId !== room?.id) return;
      if (!res.ok) return void (ui.sendError.textContent = res.error.message);
      view.merge(sync.timeline(roomId).add(res.messages));
      nextCursor = res.nextCursor;
      renderMessages('keep');
      // The button is gone once everything is loaded: keep the keyboard focus in the conversation.
      if (nextCursor === null) ui.messages.focus();
    });
  });

  // ---- sending ---------------------------------------------------------------------------------

  /** Sends the open room's next queued message; each ack sends the one after it. */
  const flush = () => {
    if (!room || !joined || !socket.connected) return;
    const item = outbox.next(room.id);
    if (item) transmit(item);
  };

  const transmit = (item: OutboxItem) => {
    item.status = 'sending';
    const payload = { roomId: item.roomId, text: item.text, clientId: item.clientId, ...(item.attempted && { resend: true }) };
    item.attempted = true;
    socket.timeout(ACK_TIMEOUT_MS).emit('message:send', payload, (err, res) => {
      if (outbox.get(item.clientId) !== item || item.status !== 'sending') return;
      if (err) {
        // Disconnected or no answer: it stays queued, and the server ignores a duplicate clientId.
        item.status = 'queued';
      } else if (res.ok) {
        outbox.delete(item.clientId);
        view.merge(sync.live(res.message));
        markRead();
      } else {
        item.status = 'failed';
        item.error = res.error.message;
        ui.sendError.textContent = res.error.message;
      }
      renderMessages('follow');
      flush();
    });
  };

  const send = () => {
    const text = ui.input.value.trim();
    if (!room || text.length === 0) return;
    if ([...text].length > LIMITS.messageMaxLength) {
      ui.sendError.textContent = `A message has at most ${LIMITS.messageMaxLength} characters`;
      return;
    }
    outbox.add(room.id, text);
    ui.input.value = '';
    ui.sendError.textContent = '';
    typingSignal.stop();
    renderCharCount();
    renderMessages('bottom');
    flush();
  };

  ui.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  ui.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  ui.input.addEventListener('input', () => {
    renderCharCount();
    typingSignal.input(ui.input.value.trim().length > 0);
  });
  ui.input.addEventListener('blur', () => typingSignal.stop());

  // ---- the socket ------------------------------------------------------------------------------

  const announce = (text: string) => {
    ui.announcer.textContent = text;
  };

  socket.on('connect', () => {
    setConnection('connected');
    loadRooms();
  });

  socket.on('disconnect', (reason) => {
    joined = false;
    outbox.requeue();
    typingIndicator.clear();
    // The server ends a socket itself only when its session was signed out.
    if (reason === 'io server disconnect') return location.assign('/login');
    setConnection('reconnecting');
    renderMessages('follow');
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
    setConnection('reconnecting');
    // A refusal by the server (e.g. its store is down) is not retried by Socket.IO itself.
    if (!socket.active) setTimeout(() => socket.connect(), 3000);
  });

  socket.on('welcome', ({ user, server }) => {
    me = user;
    renderMe();
    renderServer(server);
  });

  socket.on('message', (message: MessageDTO) => {
    if (message.roomId !== room?.id) return;
    const added = sync.live(message);
    if (added.length === 0) return; // a duplicate: shown already
    view.merge(added);
    markRead();
    typingIndicator.stop(message.author.id);
    const mine = outbox.delete(message.clientId) || message.author.id === me.id;
    renderMessages(mine ? 'bottom' : 'follow');
    if (!mine) announce(`${message.author.name}: ${message.text.slice(0, 300)}`);
  });

  socket.on('rooms:heads', (announced) => {
    for (const [roomId, seq] of Object.entries(announced)) {
      if (typeof seq !== 'number') continue;
      unread.head(roomId, seq);
      if (roomId === room?.id) sync.head(roomId, seq);
    }
    renderRooms();
  });

  // This replica's broker link was down: messages from other replicas may be missing.
  socket.on('resync', () => sync.resyncAll());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible' && socket.connected) sync.resyncAll();
  });

  socket.on('room:created', (created) => {
    if (rooms.some((r) => r.id === created.id)) return;
    // A new room: everything in it will be unread.
    unread.known([created]);
    rooms.push(created);
    renderRooms();
  });

  socket.on('presence:delta', applyPresence);

  socket.on('typing', ({ roomId, user, typing }) => {
    if (roomId !== room?.id || user.id === me.id) return;
    typingIndicator.update(user, typing);
  });

  socket.on('user:updated', (user) => applyUser(user));

  const applyUser = (user: UserDTO) => {
    if (user.id === me.id) me = user;
    view.updateAuthor(user);
    if (presence) presence.users = presence.users.map((u) => (u.id === user.id ? user : u));
    refreshAvatars(user);
  };

  setupAvatarUpload(applyUser);
  renderMe();
  renderCharCount();
  setConnection('connecting');
  socket.connect();
}
