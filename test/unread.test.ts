import { UnreadCounts, type MarkerStorage } from '../src/client/unread';

/** The browser's unread bookkeeping (src/client/unread.ts), with a storage that outlives a "reload". */
const storage = (): MarkerStorage & { data: Map<string, string> } => {
  const data = new Map<string, string>();
  return { data, getItem: (key) => data.get(key) ?? null, setItem: (key, value) => void data.set(key, value) };
};

test('rooms seen for the first time start read; heads beyond what was read are unread', () => {
  const unread = new UnreadCounts(storage(), 'u1');
  unread.known([{ id: 'a', headSeq: 5 }, { id: 'b', headSeq: 0 }]);
  expect([unread.count('a'), unread.count('b')]).toEqual([0, 0]);
  unread.head('a', 8);
  unread.head('a', 7); // an older announcement changes nothing
  expect(unread.count('a')).toBe(3);
  unread.read('a', 8);
  expect(unread.count('a')).toBe(0);
  expect(unread.count('never-listed')).toBe(0);
});

test('what was read survives a reload, per person', () => {
  const kept = storage();
  const before = new UnreadCounts(kept, 'u1');
  before.known([{ id: 'a', headSeq: 2 }]);
  const after = new UnreadCounts(kept, 'u1');
  after.known([{ id: 'a', headSeq: 6 }]);
  expect(after.count('a')).toBe(4);
  const someoneElse = new UnreadCounts(kept, 'u2');
  someoneElse.known([{ id: 'a', headSeq: 6 }]);
  expect(someoneElse.count('a')).toBe(0);
});

test('unreadable stored markers start over instead of failing', () => {
  const kept = storage();
  kept.setItem('docker-chat.read.u1', '{not json');
  const unread = new UnreadCounts(kept, 'u1');
  unread.known([{ id: 'a', headSeq: 3 }]);
  expect(unread.count('a')).toBe(0);
});
