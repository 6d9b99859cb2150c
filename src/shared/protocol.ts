/**
 * The chat's wire protocol, declared once and imported by the server and the
 * browser client. README.md ("Client protocol") documents it for other clients.
 */

export const LIMITS = {
  nameMaxLength: 32,
  roomNameMaxLength: 40,
  messageMaxLength: 2000,
  historyPageSize: 50,
  historyMaxPageSize: 100,
  avatarMaxBytes: 2 * 1024 * 1024,
} as const;

export const DEFAULT_ROOM = 'general';

/** Stable error codes: clients branch on these, people read `message`. */
export type ErrorCode =
  | 'INVALID_PAYLOAD'
  | 'INVALID_NAME'
  | 'INVALID_ROOM_NAME'
  | 'ROOM_NAME_TAKEN'
  | 'ROOM_NOT_FOUND'
  | 'NOT_IN_ROOM'
  | 'MESSAGE_EMPTY'
  | 'MESSAGE_TOO_LONG'
  | 'FILE_MISSING'
  | 'FILE_EMPTY'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FILE_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'UNAUTHORIZED'
  | 'STORE_UNAVAILABLE'
  | 'INTERNAL';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export interface UserDTO {
  id: string;
  name: string;
  /** URL of the profile photo, or null for the default avatar. */
  avatarUrl: string | null;
}

export interface RoomDTO {
  id: string;
  name: string;
  createdAt: string;
}

export interface MessageDTO {
  id: string;
  roomId: string;
  author: UserDTO;
  text: string;
  /** Server time, ISO 8601. */
  createdAt: string;
  /** The id the sender chose, echoed so a retried send is recognised. */
  clientId: string;
}

export interface HistoryPage {
  messages: MessageDTO[];
  /** Pass back as `before` to load older messages; null when there are none. */
  nextCursor: string | null;
}

export interface PresenceDTO {
  roomId: string;
  /** Distinct people in the room: one person with two tabs counts once. */
  users: UserDTO[];
  count: number;
}

export interface JoinedRoom extends HistoryPage {
  room: RoomDTO;
  presence: PresenceDTO;
}

export interface ServerInfo {
  instance: string;
  broker: string;
  store: string;
}

export interface ClientToServerEvents {
  'room:list': (ack: (res: Ack<{ rooms: RoomDTO[] }>) => void) => void;
  'room:create': (payload: { name: string }, ack: (res: Ack<{ room: RoomDTO }>) => void) => void;
  'room:join': (payload: { roomId: string }, ack: (res: Ack<JoinedRoom>) => void) => void;
  'message:send': (
    payload: { roomId: string; text: string; clientId?: string },
    ack: (res: Ack<{ message: MessageDTO }>) => void,
  ) => void;
  'message:history': (
    payload: { roomId: string; before: string; limit?: number },
    ack: (res: Ack<HistoryPage>) => void,
  ) => void;
  typing: (payload: { roomId: string; typing: boolean }) => void;
}

export interface ServerToClientEvents {
  /** Sent once after connecting: who you are and which replica you are on. */
  welcome: (payload: { user: UserDTO; server: ServerInfo }) => void;
  message: (message: MessageDTO) => void;
  presence: (presence: PresenceDTO) => void;
  typing: (payload: { roomId: string; user: UserDTO; typing: boolean }) => void;
  'room:created': (room: RoomDTO) => void;
  /** A message arrived in a room you are not looking at (for unread counts). */
  'room:activity': (payload: { roomId: string; messageId: string }) => void;
  'user:updated': (user: UserDTO) => void;
}

/** Events the replicas send each other through the adapter (serverSideEmit). */
export interface InterServerEvents {
  /** Each replica answers with the distinct people of its own sockets in the room. */
  'presence:query': (roomId: string, answer: (users: UserDTO[]) => void) => void;
}

export interface SocketData {
  user: UserDTO;
  sessionId: string;
  /** When the session ends (ms since the epoch); the socket is disconnected then. */
  sessionExpiresAt: number | null;
  roomId: string | null;
}
