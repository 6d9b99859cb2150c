/**
 * The Socket.IO events, typed once: between browser and server, and between replicas
 * (import them from `./protocol`, with the shapes they carry).
 */

import type { ReplicaFigures } from './cluster';
import type {
  Ack, ChangesPage, HistoryPage, JoinedRoom, MentionNotice, MessageDTO, PresenceDelta, ReactionEmoji, ReadPosition, RoomDTO,
  ServerInfo, SincePage, UserDTO,
} from './wire';

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
