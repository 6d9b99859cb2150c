import { LIMITS, type PresenceDelta, type PresenceDTO, type UserDTO } from '../shared/protocol';

/** In rooms bigger than a presence page, a delta names at most this many newcomers. */
const BIG_ROOM_JOINS_PER_DELTA = 20;

interface PendingDelta {
  joined: Map<string, UserDTO>;
  left: Set<string>;
}

export type Roster = ReturnType<typeof createRoster>;

/**
 * Who is in which room, cluster-wide, as one replica knows it: each person with the
 * replicas ("holders") that have them there, and the joins and leaves not yet told to
 * the room's people. src/realtime/presence.ts keeps it up to date from the replicas.
 */
export function createRoster() {
  /** Room → person → the replicas (uids) that have them there. */
  const rooms = new Map<string, Map<string, { user: UserDTO; holders: Set<string> }>>();
  const pending = new Map<string, PendingDelta>();

  const deltaFor = (roomId: string): PendingDelta => {
    let delta = pending.get(roomId);
    if (!delta) pending.set(roomId, (delta = { joined: new Map(), left: new Set() }));
    return delta;
  };

  return {
    /** `holder` (a replica uid) has `user` in the room: a person appears when the first replica does. */
    hold(roomId: string, user: UserDTO, holder: string) {
      let people = rooms.get(roomId);
      if (!people) rooms.set(roomId, (people = new Map()));
      const entry = people.get(user.id);
      if (entry) {
        entry.holders.add(holder);
        entry.user = user;
        return;
      }
      people.set(user.id, { user, holders: new Set([holder]) });
      // Never cancel a leave against a join: a client may have had either state in its snapshot.
      const delta = deltaFor(roomId);
      delta.left.delete(user.id);
      delta.joined.set(user.id, user);
    },

    /** `holder` no longer has the person in the room: they leave when the last replica does. */
    release(roomId: string, userId: string, holder: string) {
      const people = rooms.get(roomId);
      const entry = people?.get(userId);
      if (!people || !entry || !entry.holders.delete(holder) || entry.holders.size > 0) return;
      people.delete(userId);
      if (people.size === 0) rooms.delete(roomId);
      const delta = deltaFor(roomId);
      delta.joined.delete(userId);
      delta.left.add(userId);
    },

    /** A person's name or photo changed: their rooms learn it with the next delta. */
    updateUser(user: UserDTO) {
      for (const [roomId, people] of rooms) {
        const entry = people.get(user.id);
        if (!entry) continue;
        entry.user = user;
        deltaFor(roomId).joined.set(user.id, user);
      }
    },

    /** The first page of people (`me` first) and the count. */
    snapshot(roomId: string, me?: UserDTO): PresenceDTO {
      const people = rooms.get(roomId);
      const users: UserDTO[] = [];
      const mine = me && people?.get(me.id);
      if (mine) users.push(mine.user);
      for (const { user } of people?.values() ?? []) {
        if (users.length >= LIMITS.presencePageSize) break;
        if (user.id !== me?.id) users.push(user);
      }
      return { roomId, users, count: people?.size ?? 0 };
    },

    /**
     * The rooms' coalesced changes since the last call, and forgets them. A big room's
     * people show a page of names and the count: in a burst of joins, a delta names a few
     * of the newcomers (the count is exact), so nobody gets a list per join.
     */
    takeDeltas(): PresenceDelta[] {
      const deltas: PresenceDelta[] = [];
      for (const [roomId, delta] of pending) {
        if (delta.joined.size === 0 && delta.left.size === 0) continue;
        const count = rooms.get(roomId)?.size ?? 0;
        const joined = [...delta.joined.values()];
        deltas.push({ roomId, joined: count > LIMITS.presencePageSize ? joined.slice(-BIG_ROOM_JOINS_PER_DELTA) : joined, left: [...delta.left], count });
      }
      pending.clear();
      return deltas;
    },
  };
}
