import { LIMITS, type PresenceDelta, type PresenceDTO } from './protocol';

/**
 * A room's presence after a delta: the listed people (at most a page, `keepId` always
 * kept) and the count of everyone. Shared by the browser client and the tests.
 */
export function applyPresenceDelta(presence: PresenceDTO, delta: PresenceDelta, keepId?: string): PresenceDTO {
  if (delta.roomId !== presence.roomId) return presence;
  const changed = new Set([...delta.left, ...delta.joined.map((u) => u.id)]);
  const users = presence.users.filter((u) => !changed.has(u.id));
  for (const user of delta.joined) if (users.length < LIMITS.presencePageSize || user.id === keepId) users.push(user);
  return { roomId: presence.roomId, users, count: delta.count };
}
