import { Types } from 'mongoose';
import { DuplicateNameError, nameKey, type RoomRecord, type RoomRepository } from '../types';
import { guard, insertOrFind, isDuplicateKey } from './connection';
import { isId, type Models, type RoomDoc } from './models';

/** Rooms written before direct conversations have no `kind`: missing counts as public. */
const PUBLIC = { kind: { $ne: 'direct' as const } };

/** Public rooms and direct conversations on MongoDB. */
export function createRoomRepository({ Room }: Pick<Models, 'Room'>): RoomRepository {
  const findByKey = async (key: string, filter: object = {}) => {
    const room = await Room.findOne({ nameKey: key, ...filter }).lean<RoomDoc>();
    return room && toRoom(room);
  };

  return {
    ensureDirect: (userA, userB) =>
      guard(async () => {
        const members = [userA, userB].sort();
        if (!members.every(isId)) throw new TypeError(`ensureDirect: not user ids: ${members.join(', ')}`);
        // The unique nameKey index makes concurrent first messages create one conversation.
        const key = directKey(members);
        const find = () => findByKey(key, { kind: 'direct' });
        const existing = await find();
        if (existing) return { room: existing, created: false };
        let created = false;
        const room = await insertOrFind(async () => {
          const doc = await Room.create({ name: '', nameKey: key, kind: 'direct', members });
          created = true;
          return toRoom(doc.toObject());
        }, find);
        return { room, created };
      }),
    listDirect: (userId, limit) =>
      guard(async () => {
        if (!isId(userId)) return [];
        const rooms = await Room.find({ members: new Types.ObjectId(userId), kind: 'direct' }).sort({ createdAt: -1, _id: -1 }).limit(limit).lean<RoomDoc[]>();
        return rooms.map(toRoom);
      }),
    ensure: (name) =>
      guard(async () => {
        const key = nameKey(name);
        const find = () => findByKey(key);
        return (await find()) ?? insertOrFind(async () => toRoom((await Room.create({ name, nameKey: key })).toObject()), find);
      }),
    create: (name) =>
      guard(async () => {
        try {
          return toRoom((await Room.create({ name, nameKey: nameKey(name) })).toObject());
        } catch (error) {
          if (isDuplicateKey(error)) throw new DuplicateNameError(`The room name "${name}"`);
          throw error;
        }
      }),
    findById: (id) =>
      guard(async () => {
        if (!isId(id)) return null;
        const room = await Room.findById(id).lean<RoomDoc>();
        return room && toRoom(room);
      }),
    count: () => guard(() => Room.countDocuments(PUBLIC)),
    list: ({ limit, after }) =>
      guard(async () => {
        const filter = after
          ? { ...PUBLIC, $or: [{ createdAt: { $gt: after.createdAt } }, { createdAt: after.createdAt, _id: { $gt: new Types.ObjectId(after.id) } }] }
          : PUBLIC;
        return (await Room.find(filter).sort({ createdAt: 1, _id: 1 }).limit(limit).lean<RoomDoc[]>()).map(toRoom);
      }),
  };
}

/**
 * The unique key of two people's conversation: `dm:` and their sorted ids. Name keys are
 * confusable skeletons, which never contain `m`, `0` or `1`, so no room name can take it.
 */
export const directKey = (sortedMembers: readonly string[]) => `dm:${sortedMembers.join(':')}`;

export const toRoom = (doc: RoomDoc): RoomRecord => ({
  id: doc._id.toHexString(),
  name: doc.name ?? '',
  createdAt: doc.createdAt,
  headSeq: doc.headSeq ?? 0,
  headRev: doc.headRev ?? 0,
  kind: doc.kind === 'direct' ? 'direct' : 'public',
  members: (doc.members ?? []).map((id) => id.toHexString()),
});
