import { Schema, Types, type Connection, type InferSchemaType } from 'mongoose';

/*
 * Only features FerretDB 1.x also has: plain and unique indexes, no
 * collation (case-insensitive names are a stored nameKey), no TTL, no
 * transactions. Messages have a collection of their own so a room's history
 * is read a page at a time, never as one growing array.
 */

const userSchema = new Schema(
  {
    name: { type: String, required: true },
    /** nameKey(name): the unique index makes names unique case-insensitively. */
    nameKey: { type: String, required: true },
    avatar: { type: String, default: null },
    passwordHash: { type: String, default: null },
    passkeys: {
      type: [
        {
          _id: false,
          id: { type: String, required: true },
          publicKey: { type: String, required: true },
          counter: { type: Number, required: true },
          transports: { type: [String], default: [] },
          createdAt: { type: Date, required: true },
        },
      ],
      default: [],
    },
    sessionEpoch: { type: Number, default: 0 },
    lastSeenAt: { type: Date, default: () => new Date() },
    /** Open sessions (newest last, at most MAX_TRACKED_SESSIONS), for "sign out everywhere". */
    sessionIds: { type: [String], default: [] },
  },
  { timestamps: true, versionKey: false },
);
userSchema.index({ nameKey: 1 }, { unique: true });
/** Finds idle accounts to expire. */
userSchema.index({ lastSeenAt: 1 });

const roomSchema = new Schema(
  {
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    /** The room's message counter: `$inc` by a batch's size hands out its `seq`s. */
    headSeq: { type: Number, default: 0 },
  },
  { timestamps: true, versionKey: false },
);
roomSchema.index({ nameKey: 1 }, { unique: true });
roomSchema.index({ createdAt: 1, _id: 1 });

const messageSchema = new Schema(
  {
    roomId: { type: Schema.Types.ObjectId, required: true },
    /** 1, 2, 3… per room: the order everyone sees, and what clients catch up from. */
    seq: { type: Number },
    authorId: { type: Schema.Types.ObjectId, required: true },
    text: { type: String, required: true },
    clientId: { type: String, required: true },
    /** The app server's clock at insert: shown to people, never used for order. */
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);
/**
 * Unique `{roomId, seq}`: no two messages of a room share a number, and it serves both the
 * history pages (newest first, below a seq) and catch-up (oldest first, above a seq). Not a
 * schema index: it is created after the boot migration has numbered older messages, which
 * would otherwise all collide on a missing seq.
 */
export const SEQ_INDEX = 'roomId_1_seq_1';
export const SEQ_INDEX_KEY = { roomId: 1, seq: 1 } as const;
/** The history index before messages had a seq; the migration drops it. */
export const LEGACY_HISTORY_INDEX = 'roomId_1_createdAt_-1__id_-1';
/** Makes a retried send (same author, same clientId) a no-op. */
messageSchema.index({ authorId: 1, clientId: 1 }, { unique: true });

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type RoomDoc = InferSchemaType<typeof roomSchema> & { _id: Types.ObjectId };
export type MessageDoc = InferSchemaType<typeof messageSchema> & { _id: Types.ObjectId };

/** Whether a string is an ObjectId in hex: anything else names no document. */
export const isId = (id: string) => /^[0-9a-f]{24}$/.test(id);

export function createModels(connection: Connection) {
  return {
    User: connection.model('User', userSchema, 'users'),
    Room: connection.model('Room', roomSchema, 'rooms'),
    Message: connection.model('Message', messageSchema, 'messages'),
  };
}

export type Models = ReturnType<typeof createModels>;
