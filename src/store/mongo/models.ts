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
  },
  { timestamps: true, versionKey: false },
);
userSchema.index({ nameKey: 1 }, { unique: true });

const roomSchema = new Schema(
  {
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
  },
  { timestamps: true, versionKey: false },
);
roomSchema.index({ nameKey: 1 }, { unique: true });
roomSchema.index({ createdAt: 1, _id: 1 });

const messageSchema = new Schema(
  {
    roomId: { type: Schema.Types.ObjectId, required: true },
    authorId: { type: Schema.Types.ObjectId, required: true },
    text: { type: String, required: true },
    clientId: { type: String, required: true },
    /** The app server's clock at insert; ties are broken by _id. */
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);
/** Serves the history query: a room's newest first, then older pages by (createdAt, _id) cursor. */
export const HISTORY_INDEX = 'roomId_1_createdAt_-1__id_-1';
messageSchema.index({ roomId: 1, createdAt: -1, _id: -1 }, { name: HISTORY_INDEX });
/** Makes a retried send (same author, same clientId) a no-op. */
messageSchema.index({ authorId: 1, clientId: 1 }, { unique: true });

export type UserDoc = InferSchemaType<typeof userSchema> & { _id: Types.ObjectId };
export type RoomDoc = InferSchemaType<typeof roomSchema> & { _id: Types.ObjectId };
export type MessageDoc = InferSchemaType<typeof messageSchema> & { _id: Types.ObjectId };

export function createModels(connection: Connection) {
  return {
    User: connection.model('User', userSchema, 'users'),
    Room: connection.model('Room', roomSchema, 'rooms'),
    Message: connection.model('Message', messageSchema, 'messages'),
  };
}

export type Models = ReturnType<typeof createModels>;
