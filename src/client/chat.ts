import { DEFAULT_ROOM, type RoomDTO, type ServerInfo, type UserDTO } from '../shared/protocol';
import { Composer } from './composer';
import { watchConnection } from './connection';
import { Conversation } from './conversation';
import { avatar, byId, refreshAvatars } from './dom';
import { setupSidebar } from './layout';
import { MentionNotifier } from './notifications';
import { PeopleList } from './people';
import { setupAvatarUpload } from './profile';
import { ReadSync } from './read-sync';
import { Sidebar } from './sidebar';
import { ACK_TIMEOUT_MS, RETRY_MS, Refused, createSocket, failureText } from './socket';

const ROOM_KEY = 'docker-chat.room';

/**
 * The chat page: one socket, and the parts of the page wired to it: the sidebar's rooms and
 * direct conversations with their counts, the open conversation, the message box, the people
 * in the room, mention notifications and the connection status.
 */
export function startChat(initialUser: UserDTO): void {
  let me = initialUser;
  const socket = createSocket();
  const drawer = setupSidebar();
  const editWindow = Number.parseInt(document.body.dataset.editWindowMs ?? '', 10);

  const reads = new ReadSync(socket, () => renderSidebar());
  const sidebar = new Sidebar(
    { unread: (id) => reads.state.unread(id), mentions: (id) => reads.state.mentions(id) },
    (roomId) => open(roomId),
    (name) => createRoom(name),
  );
  const people = new PeopleList((user) => void openDirect(user));
  const notifier = new MentionNotifier((roomId) => open(roomId));

  const conversation: Conversation = new Conversation({
    socket,
    me: () => me,
    pending: (roomId) => composer.outbox.inRoom(roomId),
    retry: (clientId) => composer.retry(clientId),
    discard: (clientId) => composer.discard(clientId),
    editWindowMs: Number.isFinite(editWindow) ? editWindow : null,
    opened: (room, switching) => {
      localStorage.setItem(ROOM_KEY, room.id);
      known(room);
      composer.opened(room, switching);
      renderPeople();
    },
    shown: () => {
      composer.settle((clientId) => conversation.view.hasClientId(clientId));
      markSeen();
    },
    presenceChanged: () => {
      renderPeople();
      composer.peopleChanged();
    },
    missing: (roomId) => {
      if (localStorage.getItem(ROOM_KEY) === roomId) localStorage.removeItem(ROOM_KEY);
      const fallback = sidebar.fallback(DEFAULT_ROOM);
      if (fallback && fallback.id !== roomId) conversation.join(fallback.id);
    },
    error: (text) => composer.showError(text),
  });

  const composer: Composer = new Composer({
    socket,
    room: () => conversation.room,
    joined: () => conversation.joined,
    people: () => {
      // In a direct conversation the other person can be mentioned also while they are elsewhere.
      const present = conversation.presence?.users ?? [];
      const peer = conversation.room?.peer;
      return peer && !present.some((u) => u.id === peer.id) ? [...present, peer] : present;
    },
    me: () => me,
    delivered: (message) => {
      conversation.delivered(message);
      markSeen();
    },
    render: (scroll) => conversation.render(scroll),
  });

  // ---- what the page shows ---------------------------------------------------------------------

  const renderSidebar = () => {
    const current = conversation.room;
    sidebar.render(current?.id ?? null);
    // A hidden tab's title also counts what arrives in the open room meanwhile.
    const total = sidebar.totalUnread(document.visibilityState === 'visible' ? (current?.id ?? null) : null);
    const where = current ? `${current.kind === 'direct' ? '@' : '#'}${current.name} · ` : '';
    document.title = `${total > 0 ? `(${total}) ` : ''}${where}docker-chat`;
  };

  const renderPeople = () => people.render(conversation.presence, me, conversation.room);

  const renderMe = () => {
    byId('me-name', HTMLElement).textContent = me.name;
    byId('me-avatar', HTMLElement).replaceChildren(avatar(me));
  };

  const renderServer = (server: ServerInfo) => {
    byId('server-instance', HTMLElement).textContent = server.instance;
    byId('server-broker', HTMLElement).textContent = server.broker;
  };

  /** The person sees the open room when the page is visible: it is read up to what it shows. */
  const markSeen = () => {
    const room = conversation.room;
    if (!room || !conversation.joined || document.visibilityState !== 'visible') return;
    reads.seen(room.id, conversation.seenThrough);
  };

  // ---- rooms and direct conversations ----------------------------------------------------------

  const known = (room: RoomDTO) => {
    sidebar.add(room);
    reads.state.known([room]);
    renderSidebar();
  };

  const open = (roomId: string) => {
    drawer.close();
    if (roomId === conversation.room?.id && conversation.joined) return;
    composer.leaving();
    conversation.join(roomId);
  };

  const openDirect = async (user: UserDTO) => {
    try {
      const res = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('dm:open', { userId: user.id });
      if (!res.ok) return composer.showError(res.error.message);
      known(res.room);
      open(res.room.id);
    } catch (error) {
      composer.showError(failureText(error));
    }
  };

  const createRoom = async (name: string): Promise<string | null> => {
    try {
      const res = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:create', { name });
      if (!res.ok) return res.error.message;
      known(res.room);
      open(res.room.id);
      return null;
    } catch (error) {
      return failureText(error);
    }
  };

  /** Every page of the room list. */
  const listRooms = async () => {
    const rooms: RoomDTO[] = [];
    let after: string | null | undefined;
    do {
      const res = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('room:list', after ? { after } : {});
      if (!res.ok) throw new Refused(res.error.message);
      rooms.push(...res.rooms);
      after = res.nextCursor;
    } while (after);
    return rooms;
  };

  const listDirects = async () => {
    const res = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('dm:list', {});
    if (!res.ok) throw new Refused(res.error.message);
    return res.rooms;
  };

  /** At every connection: the rooms, the conversations and the read positions, then the room to show. */
  const loadLists = async () => {
    try {
      const [rooms, directs] = await Promise.all([listRooms(), listDirects(), reads.load()]);
      sidebar.setRooms(rooms);
      sidebar.setDirects(directs);
      sidebar.showError('');
    } catch (error) {
      // Disconnected: the next "connect" asks again. Connected but unanswered or refused: ask again soon.
      sidebar.showError(failureText(error));
      setTimeout(() => socket.connected && void loadLists(), RETRY_MS);
      return;
    }
    reads.state.known(sidebar.all());
    renderSidebar();
    if (conversation.room) return conversation.rejoin();
    const wanted = localStorage.getItem(ROOM_KEY);
    const target = (wanted && sidebar.find(wanted)) || sidebar.fallback(DEFAULT_ROOM);
    if (target) conversation.join(target.id);
  };

  // ---- the socket ------------------------------------------------------------------------------

  watchConnection(socket, {
    connected: () => void loadLists(),
    disconnected: () => {
      conversation.disconnected();
      composer.disconnected();
      conversation.render('follow');
    },
  });

  socket.on('welcome', ({ user, server }) => {
    me = user;
    renderMe();
    renderServer(server);
  });

  socket.on('rooms:heads', (heads) => {
    for (const [roomId, seq] of Object.entries(heads)) if (typeof seq === 'number') conversation.head(roomId, seq);
  });
  socket.on('rooms:revs', (revs) => {
    for (const [roomId, rev] of Object.entries(revs)) if (typeof rev === 'number') conversation.revs(roomId, rev);
  });

  // This replica's broker link was down: messages and changes from other replicas may be missing.
  socket.on('resync', () => conversation.resync());
  document.addEventListener('visibilitychange', () => {
    renderSidebar();
    if (document.visibilityState !== 'visible' || !socket.connected) return;
    conversation.resync();
    markSeen();
  });

  socket.on('room:created', (room) => known(room));
  socket.on('dm:opened', (room) => known(room));
  socket.on('mention', (notice) => notifier.notify(notice, sidebar.find(notice.roomId)));

  const applyUser = (user: UserDTO) => {
    if (user.id === me.id) me = user;
    conversation.updateAuthor(user);
    sidebar.updatePeer(user);
    refreshAvatars(user);
    renderSidebar();
  };
  socket.on('user:updated', applyUser);

  setupAvatarUpload(applyUser);
  renderMe();
  socket.connect();
}
