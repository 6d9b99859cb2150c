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
    /** '' for a direct conversation, which is shown under the other person's name. */
    name: { type: String, default: '' },
    /** nameKey(name); for a direct conversation `dm:<smaller id>:<larger id>`, which no skeleton produces. */
    nameKey: { type: String, required: true },
    /** The room's message counter: `$inc` by a batch's size hands out its `seq`s. */
    headSeq: { type: Number, default: 0 },
    /** The room's change counter: each edit, delete or reaction takes the next number. */
    headRev: { type: Number, default: 0 },
    /** Rooms written before direct conversations have no kind: they are public. */
    kind: { type: String, enum: ['public', 'direct'], default: 'public' },
    /** A direct conversation's two people, sorted; empty for a public room. */
    members: { type: [Schema.Types.ObjectId], default: [] },
  },
  { timestamps: true, versionKey: false },
);
roomSchema.index({ nameKey: 1 }, { unique: true });
roomSchema.index({ createdAt: 1, _id: 1 });
/** A person's direct conversations (a multikey index over the two members). */
roomSchema.index({ members: 1 });

const messageSchema = new Schema(
  {
    roomId: { type: Schema.Types.ObjectId, required: true },
    /** 1, 2, 3… per room: the order everyone sees, and what clients catch up from. */
    seq: { type: Number },
    authorId: { type: Schema.Types.ObjectId, required: true },
    /** '' once deleted. */
    text: { type: String, default: '' },
    clientId: { type: String, required: true },
    /** The app server's clock at insert: shown to people, never used for order. */
    createdAt: { type: Date, required: true },
    /**
     * The room's change number of the last edit, delete or reaction (0: never changed); a change
     * is written only while it is still the rev its author read. Older messages lack the field
     * (and the others below): they read as never changed.
     */
    rev: { type: Number, default: 0 },
    editedAt: { type: Date, default: null },
    deletedAt: { type: Date, default: null },
    mentions: { type: [{ _id: false, userId: { type: Schema.Types.ObjectId, required: true }, text: { type: String, required: true } }], default: [] },
    /** Oldest first. */
    reactions: { type: [{ _id: false, emoji: { type: String, required: true }, userId: { type: Schema.Types.ObjectId, required: true } }], default: [] },
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
/** Catch-up of changes: a room's messages from a rev on. Not unique: unchanged messages all have 0. */
messageSchema.index({ roomId: 1, rev: 1 });

/**
 * A person's read position in a room. Only rooms the person read or was mentioned in have one.
 * Only `mark` updates it; a mention only inserts it when missing (see mentionSchema).
 */
const readSchema = new Schema(
  {
    userId: { type: Schema.Types.ObjectId, required: true },
    roomId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, default: 0 },
  },
  { versionKey: false },
);
readSchema.index({ userId: 1, roomId: 1 }, { unique: true });

/**
 * That the message `seq` of a room mentions a person, until they read past it. A document
 * each, inserted and deleted but never updated: on FerretDB 1.x, which rewrites a whole
 * document per update, a mention kept in the position document was lost to a concurrent mark.
 */
const mentionSchema = new Schema(
  {
    userId: { type: Schema.Types.ObjectId, required: true },
    roomId: { type: Schema.Types.ObjectId, required: true },
    seq: { type: Number, required: true },
  },
  { versionKey: false },
);
/** Makes a retried mention a no-op, and serves a person's mentions (per room, by seq). */
mentionSchema.index({ userId: 1, roomId: 1, seq: 1 }, { unique: true });

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type RoomDoc = InferSchemaType<typeof roomSchema> & { _id: Types.ObjectId };
/** As read (lean): plain arrays, and older messages lack them. */
export type MessageDoc = Omit<InferSchemaType<typeof messageSchema>, 'mentions' | 'reactions'> & {
  _id: Types.ObjectId;
  mentions?: { userId: Types.ObjectId; text: string }[];
  reactions?: { emoji: string; userId: Types.ObjectId }[];
};
export type ReadDoc = InferSchemaType<typeof readSchema> & { _id: Types.ObjectId };
export type MentionDoc = InferSchemaType<typeof mentionSchema> & { _id: Types.ObjectId };

/** Whether a string is an ObjectId in hex: anything else names no document. */
export const isId = (id: string) => /^[0-9a-f]{24}$/.test(id);

export function createModels(connection: Connection) {
  return {
    User: connection.model('User', userSchema, 'users'),
    Room: connection.model('Room', roomSchema, 'rooms'),
    Message: connection.model('Message', messageSchema, 'messages'),
    Read: connection.model('Read', readSchema, 'reads'),
    Mention: connection.model('Mention', mentionSchema, 'mentions'),
  };
}

export type Models = ReturnType<typeof createModels>;
