import { LRUCache } from 'lru-cache';
import { REACTIONS, type MessageDTO, type ReactionDTO, type ReactionEmoji, LIMITS, type RoomDTO, type UserDTO } from '../shared/protocol';
import type { MessageRecord, RoomRecord, Store, UserRecord } from '../store/types';

/**
 * Records as clients see them. People's names and photos come from a cache: `userChanged`
 * replaces one at once (the realtime layer calls it for changes made on any replica); the
 * minute bounds what a lost notice costs. A page of messages costs at most one read for the
 * people it names that the cache lacks, never one per message.
 */
export type Views = ReturnType<typeof createViews>;

export function createViews(store: Store) {
  const people = new LRUCache<string, UserDTO>({ max: 50_000, ttl: 60_000 });

  const toUser = (user: UserRecord): UserDTO => ({
    id: user.id,
    name: user.name,
    avatarUrl: user.avatar ? `/avatars/${user.avatar}` : null,
  });

  const unknown = (id: string): UserDTO => ({ id, name: 'Unknown', avatarUrl: null });

  /** Fills the cache with these people: one read for those it lacks. */
  const load = async (ids: Iterable<string>): Promise<void> => {
    const missing = [...new Set(ids)].filter((id) => !people.has(id));
    if (missing.length > 0) for (const user of await store.users.findByIds(missing)) people.set(user.id, toUser(user));
  };
  const person = (id: string): UserDTO => people.get(id) ?? unknown(id);

  const reactionsOf = (m: MessageRecord): ReactionDTO[] => {
    const byEmoji = new Map<string, string[]>();
    for (const { emoji, userId } of m.reactions) byEmoji.set(emoji, [...(byEmoji.get(emoji) ?? []), userId]);
    return [...byEmoji]
      .filter((entry): entry is [ReactionEmoji, string[]] => (REACTIONS as readonly string[]).includes(entry[0]))
      .map(([emoji, ids]) => ({
        emoji,
        count: ids.length,
        users: ids.slice(0, LIMITS.reactionUsersShown).map((id) => ({ id, name: person(id).name })),
      }));
  };

  const toMessage = (m: MessageRecord, author: UserDTO): MessageDTO => ({
    id: m.id,
    roomId: m.roomId,
    seq: m.seq,
    author,
    text: m.text,
    createdAt: m.createdAt.toISOString(),
    clientId: m.clientId,
    rev: m.rev,
    editedAt: m.editedAt ? m.editedAt.toISOString() : null,
    deleted: m.deletedAt !== null,
    mentions: m.mentions.map(({ userId, text }) => ({ id: userId, name: text })),
    reactions: reactionsOf(m),
  });

  /** Everyone a page names: its authors and the first people shown for each reaction. */
  const named = (records: readonly MessageRecord[]) =>
    records.flatMap((m) => {
      const shown = new Map<string, number>();
      const reactors = m.reactions.filter((r) => {
        const count = (shown.get(r.emoji) ?? 0) + 1;
        shown.set(r.emoji, count);
        return count <= LIMITS.reactionUsersShown;
      });
      return [m.authorId, ...reactors.map((r) => r.userId)];
    });

  return {
    toUser,

    /** A person's name or photo changed (here or on another replica). */
    userChanged(user: UserDTO): void {
      people.set(user.id, user);
    },

    async people(ids: readonly string[]): Promise<UserDTO[]> {
      await load(ids);
      return ids.map(person);
    },

    async toMessages(records: readonly MessageRecord[]): Promise<MessageDTO[]> {
      await load(named(records));
      return records.map((m) => toMessage(m, person(m.authorId)));
    },

    /** One message whose author is known (the sender): no read unless its reactions name others. */
    async toMessage(record: MessageRecord, author?: UserDTO): Promise<MessageDTO> {
      if (author) people.set(author.id, author);
      return (await this.toMessages([record]))[0]!;
    },

    /** A room as `viewerId` sees it: a direct conversation is named after the other person. */
    async toRoom(room: RoomRecord, viewerId: string): Promise<RoomDTO> {
      const base = { id: room.id, createdAt: room.createdAt.toISOString(), headSeq: room.headSeq, headRev: room.headRev, kind: room.kind };
      if (room.kind === 'public') return { ...base, name: room.name, peer: null };
      const peerId = room.members.find((id) => id !== viewerId) ?? viewerId;
      const [peer] = await this.people([peerId]);
      return { ...base, name: peer!.name, peer: peer! };
    },

    async toRooms(rooms: readonly RoomRecord[], viewerId: string): Promise<RoomDTO[]> {
      await load(rooms.flatMap((r) => r.members));
      return Promise.all(rooms.map((room) => this.toRoom(room, viewerId)));
    },
  };
}
