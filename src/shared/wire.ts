/**
 * What travels on the wire: limits, error codes and the shapes of everything sent
 * (import them from `./protocol`, with the events).
 */

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
