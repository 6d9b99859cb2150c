import { LIMITS, type UserDTO } from '../src/shared/protocol';
import { createRoster } from '../src/realtime/roster';

/** The cluster-wide who-is-where one replica keeps (src/realtime/roster.ts), on its own. */
const person = (n: number): UserDTO => ({ id: `u${n}`, name: `Person ${n}`, avatarUrl: null });

test('a person is in a room while any replica holds them, and leaves with the last one', () => {
  const roster = createRoster();
  roster.hold('r', person(1), 'replica-a');
  roster.hold('r', person(1), 'replica-b');
  expect(roster.takeDeltas()).toEqual([{ roomId: 'r', joined: [person(1)], left: [], count: 1 }]);
  roster.release('r', 'u1', 'replica-a');
  expect(roster.takeDeltas()).toEqual([]);
  roster.release('r', 'u1', 'replica-b');
  expect(roster.takeDeltas()).toEqual([{ roomId: 'r', joined: [], left: ['u1'], count: 0 }]);
  expect(roster.snapshot('r')).toEqual({ roomId: 'r', users: [], count: 0 });
});

test('a join and a leave within one interval are told as the leave: a client may have seen the join', () => {
  const roster = createRoster();
  roster.hold('r', person(1), 'a');
  roster.release('r', 'u1', 'a');
  expect(roster.takeDeltas()).toEqual([{ roomId: 'r', joined: [], left: ['u1'], count: 0 }]);
});

test('a snapshot lists me first and a page at most; a big room\'s delta names a few newcomers, the count all', () => {
  const roster = createRoster();
  for (let n = 0; n < LIMITS.presencePageSize + 50; n += 1) roster.hold('big', person(n), 'a');
  const snapshot = roster.snapshot('big', person(120));
  expect(snapshot.users).toHaveLength(LIMITS.presencePageSize);
  expect(snapshot.users[0]).toEqual(person(120));
  expect(snapshot.count).toBe(LIMITS.presencePageSize + 50);
  const [delta] = roster.takeDeltas();
  expect(delta!.count).toBe(LIMITS.presencePageSize + 50);
  expect(delta!.joined.length).toBeLessThan(50);
});

test('a changed name reaches the rooms the person is in', () => {
  const roster = createRoster();
  roster.hold('r', person(1), 'a');
  roster.takeDeltas();
  roster.updateUser({ ...person(1), name: 'Renamed' });
  expect(roster.takeDeltas()).toEqual([{ roomId: 'r', joined: [{ ...person(1), name: 'Renamed' }], left: [], count: 1 }]);
  expect(roster.snapshot('r').users[0]!.name).toBe('Renamed');
});
