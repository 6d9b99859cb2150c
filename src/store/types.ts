import type session from 'express-session';
import { skeleton } from '../lib/skeleton';

/**
 * The storage seam. Handlers and services only see these interfaces; the
 * in-memory store (src/store/memory.ts) and the MongoDB store
 * (src/store/mongo/) implement them, and test/store.contract.ts runs the same
 * contract suite against both.
 */

export interface UserRecord {
  id: string;
  name: string;
  /** File name under STORAGE_VOLUME/avatars, or null. */
  avatar: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** argon2id hash (PHC string) when the name is protected by a password. */
  passwordHash: string | null;
  /** WebAuthn credentials that may sign in under this name. */
  passkeys: PasskeyRecord[];
  /** Raised by "sign out everywhere": sessions made under an older epoch are no longer valid. */
  sessionEpoch: number;
  /** Last sign-in or connection: unprotected accounts idle for long expire. */
  lastSeenAt: Date;
}

export interface PasskeyRecord {
  /** Credential id, base64url. */
  id: string;
  /** COSE public key, base64url. */
  publicKey: string;
  counter: number;
  transports: string[];
  createdAt: Date;
}

export interface RoomRecord {
  id: string;
  /** A public room's name; '' for a direct conversation (shown as the other person's name). */
  name: string;
  createdAt: Date;
  /** The `seq` of the room's newest message, 0 while it has none. */
  headSeq: number;
  /** The room's change counter: each edit, delete or reaction takes the next number. */
  headRev: number;
  kind: 'public' | 'direct';
  /** A direct conversation's two people (sorted ids); empty for a public room. */
  members: string[];
}

export interface MessageRecord {
  id: string;
  roomId: string;
  /** The room's sequence number: 1, 2, 3… per room, assigned by the store with the insert. */
  seq: number;
  authorId: string;
  text: string;
  clientId: string;
  createdAt: Date;
  /** The room's change number of the last edit, delete or reaction; 0 when never changed. */
  rev: number;
  editedAt: Date | null;
  /** Deleted messages keep their seq with an empty text, no mentions and no reactions. */
  deletedAt: Date | null;
  mentions: MentionRecord[];
  /** Oldest first. */
  reactions: ReactionRecord[];
}

export interface MentionRecord {
  userId: string;
  /** The name as written after the `@`. */
  text: string;
}

export interface ReactionRecord {
  emoji: string;
  userId: string;
}

/** A message's new state, written only if nobody changed it since it was read (its `rev`). */
export interface MessageChange {
  text?: string;
  mentions?: MentionRecord[];
  editedAt?: Date;
  deletedAt?: Date;
  reactions?: ReactionRecord[];
}

export interface ReadRecord {
  roomId: string;
  /** Read up to this seq. */
  seq: number;
  /** Seqs above `seq` of messages that mention the person, ascending, at most LIMITS.mentionsRemembered. */
  mentions: number[];
}

export interface UserRepository {
  /** The user with this name (compared case-insensitively), created if new. */
  findOrCreateByName(name: string): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  findByIds(ids: readonly string[]): Promise<UserRecord[]>;
  /** Sets the avatar and returns the updated user plus the file it replaced. */
  setAvatar(id: string, avatar: string): Promise<{ user: UserRecord; previous: string | null } | null>;
  /** The user whose name has the same skeleton (looks the same), or null; creates nothing. */
  findByName(name: string): Promise<UserRecord | null>;
  /** The users whose name key (see nameKey) is one of these: one read, for mentions. */
  findByNameKeys(keys: readonly string[]): Promise<UserRecord[]>;
  /** Sets (or with null removes) the password hash; null when there is no such user. */
  setPassword(id: string, hash: string | null): Promise<UserRecord | null>;
  addPasskey(id: string, passkey: PasskeyRecord): Promise<UserRecord | null>;
  /** Removes one passkey by credential id; null when there is no such user. */
  removePasskey(id: string, credentialId: string): Promise<UserRecord | null>;
  /** Records a passkey's signature counter after a sign-in with it. */
  setPasskeyCounter(id: string, credentialId: string, counter: number): Promise<void>;
  /** Remembers a session of this user, so "sign out everywhere" can find it. */
  addSession(id: string, sessionId: string): Promise<void>;
  removeSession(id: string, sessionId: string): Promise<void>;
  /** Raises the session epoch and forgets every session; returns the sessions that were open. */
  endSessions(id: string): Promise<{ sessionEpoch: number; sessionIds: string[] } | null>;
  /** Records activity (a sign-in, a connection) now. */
  touch(id: string): Promise<void>;
  /**
   * Deletes up to `limit` users with neither password nor passkey whose last activity is older
   * than `before`; returns their ids and remembered sessions, for those to be ended too.
   */
  deleteIdleUnprotected(before: Date, limit: number): Promise<{ id: string; sessionIds: string[] }[]>;
}

export interface RoomRepository {
  /** The direct conversation of these two people, created the first time (`created` true then). */
  ensureDirect(userA: string, userB: string): Promise<{ room: RoomRecord; created: boolean }>;
  /** A person's direct conversations, newest first, at most `limit`. */
  listDirect(userId: string, limit: number): Promise<RoomRecord[]>;
  /** Creates the room if no room has this name (case-insensitively); returns it either way. */
  ensure(name: string): Promise<RoomRecord>;
  /** Throws DuplicateNameError when the name is taken (case-insensitively). */
  create(name: string): Promise<RoomRecord>;
  findById(id: string): Promise<RoomRecord | null>;
  /** How many public rooms exist. */
  count(): Promise<number>;
  /** Public rooms oldest first, at most `limit`, after the room `after` (by creation time, then id) when given. */
  list(options: { limit: number; after?: { createdAt: Date; id: string } }): Promise<RoomRecord[]>;
}

export interface NewMessage {
  authorId: string;
  text: string;
  clientId: string;
  /** The people the text mentions (none when absent). */
  mentions?: MentionRecord[];
  /** Sent before without an ack: looked up first, so a stored one costs no seq (no gap). */
  resend?: boolean;
}

export interface AppendedMessage {
  record: MessageRecord;
  /** False when (authorId, clientId) was stored before: `record` is that earlier message. */
  created: boolean;
}

export interface MessageRepository {
  /**
   * Stores messages for one room, in order, each with the room's next `seq`:
   * one counter step and one insert for the whole batch. Idempotent per
   * (authorId, clientId): a clientId stored before gives back that message.
   * Resolves with null when the room does not exist.
   */
  append(roomId: string, messages: readonly NewMessage[]): Promise<AppendedMessage[] | null>;
  /** Newest first, at most `limit`, with `seq` below `beforeSeq` when given. */
  page(roomId: string, options: { limit: number; beforeSeq?: number }): Promise<MessageRecord[]>;
  /** Oldest first, at most `limit`, with `seq` above `afterSeq`. */
  since(roomId: string, options: { limit: number; afterSeq: number }): Promise<MessageRecord[]>;
  /** One message of the room, or null. */
  findById(roomId: string, messageId: string): Promise<MessageRecord | null>;
  /**
   * Applies `change` if the message's rev is still `expectedRev`, with the room's next change
   * number (always above `expectedRev`) as its new rev: one counter step and one conditional
   * update. Null when the message changed meanwhile (read it again) or is gone.
   */
  change(roomId: string, messageId: string, expectedRev: number, change: MessageChange): Promise<MessageRecord | null>;
  /** Messages with `rev >= fromRev`, by rev ascending, at most `limit`. */
  changedSince(roomId: string, options: { fromRev: number; limit: number }): Promise<MessageRecord[]>;
}

/** Read positions and unread mentions, per person and room. */
export interface ReadRepository {
  /** Moves the position up to `seq` (never back) and forgets mentions up to it; returns the position. */
  mark(userId: string, roomId: string, seq: number): Promise<ReadRecord>;
  /** Every position of the person (rooms read or mentioned in). */
  list(userId: string): Promise<ReadRecord[]>;
  /**
   * Remembers that the message `seq` of the room mentions these people (one write for all).
   * A person with no position there gets one just before it, so the mention counts as unread.
   */
  addMention(roomId: string, seq: number, userIds: readonly string[]): Promise<void>;
}

export interface Store {
  readonly kind: 'memory' | 'mongodb';
  readonly users: UserRepository;
  readonly rooms: RoomRepository;
  readonly messages: MessageRepository;
  readonly reads: ReadRepository;
  /** The express-session store for this backend. */
  createSessionStore(): session.Store;
  /** True when the backend answers right now (for /readyz). */
  isReady(): Promise<boolean>;
  close(): Promise<void>;
}

export class DuplicateNameError extends Error {
  constructor(readonly what: string) {
    super(`${what} is already taken`);
    this.name = 'DuplicateNameError';
  }
}

/** The backend cannot be reached now; the operation had no effect and may be retried. */
export class StoreUnavailableError extends Error {
  constructor(cause?: unknown) {
    super('The database is unavailable, please try again', { cause });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The unique key of a person's or a room's name: its confusable skeleton, so names that look
 * alike ("ÉLODIE" and "élodie", "аlice" in Cyrillic and "alice") have one key.
 */
export function nameKey(name: string): string {
  return skeleton(name);
}

/** Sessions remembered per user: the oldest are forgotten past this (they still expire). */
export const MAX_TRACKED_SESSIONS = 100;
