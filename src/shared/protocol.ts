/**
 * The chat's wire protocol, declared once and imported by the server and the
 * browser client. README.md ("Client protocol") documents it for other clients.
 */

import type { ReplicaFigures } from './cluster';

export const LIMITS = {
  nameMaxLength: 32,
  roomNameMaxLength: 40,
  /** Rooms per room:list page, by default and at most. */
  roomPageSize: 100,
  roomMaxPageSize: 200,
  messageMaxLength: 2000,
  historyPageSize: 50,
  historyMaxPageSize: 100,
  /** People listed in a presence snapshot; bigger rooms show this many and the count. */
  presencePageSize: 100,
  avatarMaxBytes: 2 * 1024 * 1024,
  /** Larger pictures are refused from their header, before decoding (a 20,000×20,000 PNG is 48 KB). */
  avatarMaxPixels: 25_000_000,
  /** Stored photos are at most this many pixels wide and high (WebP). */
  avatarSize: 512,
  /** People one message can mention (further @names stay plain text). */
  mentionsPerMessage: 20,
  /** People named per reaction in a message (the count covers everyone). */
  reactionUsersShown: 20,
  /** Direct conversations listed by `dm:list`, newest first. */
  directPageSize: 200,
  /** Unread mentions remembered per room and person (older ones still count in unread). */
  mentionsRemembered: 200,
} as const;

/** The emoji people can react with: a small fixed set, so reactions stay cheap to store and to show. */
export const REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'] as const;
export type ReactionEmoji = (typeof REACTIONS)[number];

export const DEFAULT_ROOM = 'general';

/** Stable error codes: clients branch on these, people read `message`. */
export type ErrorCode =
  | 'INVALID_PAYLOAD'
  | 'INVALID_NAME'
  | 'INVALID_ROOM_NAME'
  | 'ROOM_NAME_TAKEN'
  | 'ROOM_NOT_FOUND'
  | 'TOO_MANY_ROOMS'
  | 'NOT_IN_ROOM'
  | 'USER_NOT_FOUND'
  | 'INVALID_RECIPIENT'
  | 'MESSAGE_NOT_FOUND'
  | 'NOT_YOUR_MESSAGE'
  | 'MESSAGE_DELETED'
  | 'EDIT_WINDOW_CLOSED'
  | 'EDITING_DISABLED'
  | 'INVALID_REACTION'
  | 'CONFLICT'
  | 'MESSAGE_EMPTY'
  | 'MESSAGE_TOO_LONG'
  | 'FILE_MISSING'
  | 'FILE_EMPTY'
  | 'FILE_TOO_LARGE'
  | 'UNSUPPORTED_FILE_TYPE'
  | 'IMAGE_TOO_LARGE'
  | 'IMAGE_UNREADABLE'
  | 'STORAGE_FULL'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'TOO_MANY_CONNECTIONS'
  | 'UNAUTHORIZED'
  | 'NAME_TAKEN'
  | 'NAME_PROTECTED'
  | 'WRONG_PASSWORD'
  | 'INVALID_PASSWORD'
  | 'PROTECTION_REQUIRED'
  | 'PASSKEY_NOT_FOUND'
  | 'PASSKEY_FAILED'
  | 'CROSS_ORIGIN'
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
  /** A public room's name; for a direct conversation, the other person's name. */
  name: string;
  createdAt: string;
  /** The `seq` of the room's newest message when this was read (0: none yet), for unread counts. */
  headSeq: number;
  /** The room's newest change (edit, delete, reaction) number when this was read (0: none yet). */
  headRev: number;
  /** `direct`: a private conversation between two people, which only they can read or join. */
  kind: 'public' | 'direct';
  /** For a direct conversation: the other person (as seen by whom this was sent to); else null. */
  peer: UserDTO | null;
}

/** An `@name` in a message that names a person. */
export interface MentionDTO {
  /** The person's id. */
  id: string;
  /** The name as written after the `@` (match it case-insensitively to highlight it). */
  name: string;
}

export interface ReactionDTO {
  emoji: ReactionEmoji;
  count: number;
  /** The first people who reacted, at most `LIMITS.reactionUsersShown`. */
  users: { id: string; name: string }[];
}

export interface MessageDTO {
  id: string;
  roomId: string;
  /** The room's sequence number: 1, 2, 3… with no repeats. Order messages by it. */
  seq: number;
  author: UserDTO;
  text: string;
  /** Server time, ISO 8601. */
  createdAt: string;
  /** The id the sender chose, echoed so a retried send is recognised. */
  clientId: string;
  /**
   * The room's change number of this message's last edit, delete or reaction (0: never
   * changed). A copy with a higher `rev` replaces the one you hold.
   */
  rev: number;
  /** When the text was last edited, or null. */
  editedAt: string | null;
  /** Deleted by its author: `text` is empty, mentions and reactions are gone (show a placeholder). */
  deleted: boolean;
  mentions: MentionDTO[];
  reactions: ReactionDTO[];
}

/** Catch-up of edits, deletes and reactions: messages whose `rev` is at least `fromRev`, by rev. */
export interface ChangesPage {
  roomId: string;
  /** Each message as it is now, ordered by `rev`. */
  messages: MessageDTO[];
  /** False when `limit` came back: ask again from the last one's rev. */
  complete: boolean;
}

/** Where a person has read a room up to, kept by the server: the same in every tab and device. */
export interface ReadPosition {
  roomId: string;
  /** Messages up to this seq are read. */
  seq: number;
  /** Seqs of unread messages that mention the person (above `seq`), oldest first. */
  mentions: number[];
}

/** Sent to a mentioned person on every replica and tab, also when they are in another room. */
export interface MentionNotice {
  roomId: string;
  /** The room's name, or for a direct conversation the author's name. */
  roomName: string;
  seq: number;
  messageId: string;
  author: UserDTO;
  /** The start of the message, for a notification. */
  excerpt: string;
}

export interface HistoryPage {
  messages: MessageDTO[];
  /** Pass back as `before` to load older messages; null when there are none. */
  nextCursor: string | null;
}

/** Catch-up: the messages after a known seq, oldest first. */
export interface SincePage {
  roomId: string;
  messages: MessageDTO[];
  /** False when `limit` messages came back and more may follow: ask again after the last one. */
  complete: boolean;
}

export interface PresenceDTO {
  roomId: string;
  /** Distinct people in the room (one person with two tabs counts once), at most `LIMITS.presencePageSize`. */
  users: UserDTO[];
  /** How many people are in the room, listed or not. */
  count: number;
}

/** What changed in a room's presence since the last snapshot or delta (coalesced, a few per second at most). */
export interface PresenceDelta {
  roomId: string;
  joined: UserDTO[];
  /** Ids of people who left. */
  left: string[];
  count: number;
}

export interface JoinedRoom extends HistoryPage {
  room: RoomDTO;
  presence: PresenceDTO;
  /**
   * Without `afterSeq`: the latest page, and true. With it: the messages after it (oldest
   * first), and false when more follow (continue with `message:since`).
   */
  caughtUp: boolean;
}

export interface ServerInfo {
  instance: string;
  broker: string;
  store: string;
}

export interface ClientToServerEvents {
  /** Oldest first, a page at a time: pass `nextCursor` back as `after` until it is null. */
  'room:list': (
    payload: { after?: string; limit?: number },
    ack: (res: Ack<{ rooms: RoomDTO[]; nextCursor: string | null }>) => void,
  ) => void;
  'room:create': (payload: { name: string }, ack: (res: Ack<{ room: RoomDTO }>) => void) => void;
  /** `afterSeq`: the last seq you have of this room: you get what followed instead of the latest page. */
  'room:join': (payload: { roomId: string; afterSeq?: number }, ack: (res: Ack<JoinedRoom>) => void) => void;
  /** Opens (creating it the first time) the direct conversation with this person; join it like a room. */
  'dm:open': (payload: { userId: string }, ack: (res: Ack<{ room: RoomDTO }>) => void) => void;
  /** Your direct conversations, newest first. */
  'dm:list': (payload: Record<string, never>, ack: (res: Ack<{ rooms: RoomDTO[] }>) => void) => void;
  'message:send': (
    /** `resend: true` when this clientId was sent before without an ack: no seq is spent on it if it was stored. */
    payload: { roomId: string; text: string; clientId?: string; resend?: boolean },
    ack: (res: Ack<{ message: MessageDTO }>) => void,
  ) => void;
  'message:history': (
    payload: { roomId: string; before: string; limit?: number },
    ack: (res: Ack<HistoryPage>) => void,
  ) => void;
  /** Catch-up from the store: the messages of a room with a seq above `afterSeq`, oldest first. */
  'message:since': (
    payload: { roomId: string; afterSeq: number; limit?: number },
    ack: (res: Ack<SincePage>) => void,
  ) => void;
  /** Catch-up of changes: messages of the room with `rev >= fromRev` (inclusive: equal revs are re-sent). */
  'message:changes': (
    payload: { roomId: string; fromRev: number; limit?: number },
    ack: (res: Ack<ChangesPage>) => void,
  ) => void;
  /** Replaces the text of your own message (within the edit window). */
  'message:edit': (payload: { roomId: string; messageId: string; text: string }, ack: (res: Ack<{ message: MessageDTO }>) => void) => void;
  /** Deletes your own message (within the edit window): it stays as a placeholder. */
  'message:delete': (payload: { roomId: string; messageId: string }, ack: (res: Ack<{ message: MessageDTO }>) => void) => void;
  /** Adds (`on: true`) or removes your reaction; setting what is already set changes nothing. */
  'message:react': (
    payload: { roomId: string; messageId: string; emoji: ReactionEmoji; on: boolean },
    ack: (res: Ack<{ message: MessageDTO }>) => void,
  ) => void;
  /** Records that you read the room up to `seq` (it never moves back); every tab of yours hears `read:updated`. */
  'read:mark': (payload: { roomId: string; seq: number }, ack: (res: Ack<{ read: ReadPosition }>) => void) => void;
  /** Your read positions: one per room you have read or been mentioned in. */
  'read:list': (payload: Record<string, never>, ack: (res: Ack<{ reads: ReadPosition[] }>) => void) => void;
  typing: (payload: { roomId: string; typing: boolean }) => void;
}

export interface ServerToClientEvents {
  /** Sent once after connecting: who you are and which replica you are on. */
  welcome: (payload: { user: UserDTO; server: ServerInfo }) => void;
  /** A new message in the room you joined (live, at most once: catch up by seq for the rest). */
  message: (message: MessageDTO) => void;
  /** Joins and leaves in the room you joined. */
  'presence:delta': (delta: PresenceDelta) => void;
  typing: (payload: { roomId: string; user: UserDTO; typing: boolean }) => void;
  /** An edit, delete or reaction: the message as it is now (replace yours if its `rev` is higher). */
  'message:changed': (message: MessageDTO) => void;
  'room:created': (room: RoomDTO) => void;
  /** A direct conversation with you was started (by you in another tab, or by the other person). */
  'dm:opened': (room: RoomDTO) => void;
  /** Someone mentioned you, in any room you can read. */
  mention: (notice: MentionNotice) => void;
  /** You read a room in some tab or device: the same position everywhere. */
  'read:updated': (read: ReadPosition) => void;
  /** The newest seq of rooms that had messages lately (about once a second): unread counts, and gap detection. */
  'rooms:heads': (heads: Record<string, number>) => void;
  /** The newest change number of rooms whose messages were edited, deleted or reacted to lately (as `rooms:heads`). */
  'rooms:revs': (revs: Record<string, number>) => void;
  /**
   * This replica's broker link came back: messages sent on other replicas meanwhile did not
   * arrive live. Catch up every room you show (`message:since` from your last seq).
   */
  resync: (payload: { reason: 'broker-reconnected' }) => void;
  'user:updated': (user: UserDTO) => void;
}

/**
 * Presence between replicas: each replica announces only its own people, as changes
 * numbered by a per-replica version. A receiver that misses a version (a broker cut) or
 * hears an unknown replica asks for that replica's snapshot; a replica that stops
 * beating is dropped after the heartbeat timeout.
 */
export interface PresenceChange {
  roomId: string;
  user: UserDTO;
  /** True: this replica now has the person in the room; false: no longer. */
  present: boolean;
}

export interface ReplicaPresence {
  /** The replica's id for this process (not its instance name, which replicas may share). */
  uid: string;
  version: number;
}

/** Events the replicas send each other through the adapter (serverSideEmit). */
export interface InterServerEvents {
  'presence:changes': (payload: ReplicaPresence & { from: number; changes: PresenceChange[] }) => void;
  'presence:heartbeat': (payload: ReplicaPresence) => void;
  /** Everything a replica has: room id → its people there. */
  'presence:snapshot': (payload: ReplicaPresence & { rooms: Record<string, UserDTO[]> }) => void;
  /** Asks the replica `uid` to send its snapshot. */
  'presence:resend': (uid: string) => void;
  'presence:goodbye': (uid: string) => void;
  /** People's names and photos changed: update them in presence. */
  'user:updated': (user: UserDTO) => void;
  /** Each replica's figures for the cluster view, once per interval (src/cluster/). */
  'cluster:figures': (figures: ReplicaFigures) => void;
  /** A replica shutting down, so the others drop it from the view at once. */
  'cluster:leave': (replicaId: string) => void;
}

export interface SocketData {
  user: UserDTO;
  sessionId: string;
  /** When the session ends (ms since the epoch); the socket is disconnected then. */
  sessionExpiresAt: number | null;
  roomId: string | null;
}
