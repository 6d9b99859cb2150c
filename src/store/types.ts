import type session from 'express-session';

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
}

export interface RoomRecord {
  id: string;
  name: string;
  createdAt: Date;
}

export interface MessageRecord {
  id: string;
  roomId: string;
  authorId: string;
  text: string;
  clientId: string;
  createdAt: Date;
}

/** Position in a room's history: messages strictly older than this are returned. */
export interface HistoryCursor {
  createdAt: Date;
  id: string;
}

export interface UserRepository {
  /** The user with this name (compared case-insensitively), created if new. */
  findOrCreateByName(name: string): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  findByIds(ids: readonly string[]): Promise<UserRecord[]>;
  /** Sets the avatar and returns the updated user plus the file it replaced. */
  setAvatar(id: string, avatar: string): Promise<{ user: UserRecord; previous: string | null } | null>;
}

export interface RoomRepository {
  /** Creates the room if no room has this name (case-insensitively); returns it either way. */
  ensure(name: string): Promise<RoomRecord>;
  /** Throws DuplicateNameError when the name is taken (case-insensitively). */
  create(name: string): Promise<RoomRecord>;
  findById(id: string): Promise<RoomRecord | null>;
  /** All rooms, oldest first. */
  list(): Promise<RoomRecord[]>;
}

export interface NewMessage {
  roomId: string;
  authorId: string;
  text: string;
  clientId: string;
}

export interface MessageRepository {
  /**
   * Stores a message. Idempotent per (authorId, clientId): sending the same
   * clientId again returns the stored message instead of a duplicate.
   */
  add(message: NewMessage): Promise<MessageRecord>;
  /** Newest first, at most `limit`, strictly older than `before` when given. */
  page(roomId: string, options: { limit: number; before?: HistoryCursor }): Promise<MessageRecord[]>;
}

export interface Store {
  readonly kind: 'memory' | 'mongodb';
  readonly users: UserRepository;
  readonly rooms: RoomRepository;
  readonly messages: MessageRepository;
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

/** Case-insensitive key for names: Unicode-aware, so "ÉLODIE" and "élodie" match. */
export function nameKey(name: string): string {
  return name.normalize('NFC').toLocaleLowerCase('und');
}
