import { ReadMarker, ReadState } from '../src/client/unread';

/** The browser's unread and mention counts (src/client/unread.ts) from the server's read positions. */
const room = (id: string, headSeq: number, kind: 'public' | 'direct' = 'public') => ({ id, headSeq, kind });

describe('ReadState', () => {
  test('unread is the head minus the read position; heads only move forward', () => {
    const reads = new ReadState();
    reads.known([room('a', 5)]);
    reads.apply([{ roomId: 'a', seq: 3, mentions: [] }]);
    expect(reads.unread('a')).toBe(2);
    reads.head('a', 8);
    reads.head('a', 7); // an older announcement changes nothing
    expect(reads.unread('a')).toBe(5);
    expect(reads.read('a', 8)).toBe(true);
    expect(reads.read('a', 6)).toBe(false); // never back
    expect(reads.unread('a')).toBe(0);
  });

  test('without a position, a public room never opened counts nothing and a direct conversation counts everything', () => {
    const reads = new ReadState();
    reads.known([room('public', 6), room('dm', 0, 'direct')]);
    reads.head('dm', 2);
    expect([reads.unread('public'), reads.unread('dm'), reads.unread('never-listed')]).toEqual([0, 2, 0]);
  });

  test('mentions count while above the read position; reading past them clears them', () => {
    const reads = new ReadState();
    reads.known([room('a', 10)]);
    reads.apply([{ roomId: 'a', seq: 4, mentions: [6, 9] }]);
    expect(reads.mentions('a')).toBe(2);
    reads.read('a', 7);
    expect([reads.unread('a'), reads.mentions('a')]).toEqual([3, 1]);
  });

  test('a live mention counts once, also when the read list says the same after a reload', () => {
    const reads = new ReadState();
    reads.known([room('a', 3)]);
    reads.apply([{ roomId: 'a', seq: 3, mentions: [] }]);
    reads.mention({ roomId: 'a', seq: 5 });
    reads.mention({ roomId: 'a', seq: 5 }); // the same notice from another path
    reads.apply([{ roomId: 'a', seq: 3, mentions: [5] }]);
    expect([reads.unread('a'), reads.mentions('a')]).toEqual([2, 1]);
  });

  test('a mention in a room never opened counts from just before it, as the server keeps it', () => {
    const reads = new ReadState();
    reads.known([room('quiet', 40)]);
    reads.mention({ roomId: 'quiet', seq: 41 });
    expect([reads.unread('quiet'), reads.mentions('quiet')]).toEqual([1, 1]);
    // What a reload gets from read:list for the same room: the same counts.
    const reloaded = new ReadState();
    reloaded.known([room('quiet', 41)]);
    reloaded.apply([{ roomId: 'quiet', seq: 40, mentions: [41] }]);
    expect([reloaded.unread('quiet'), reloaded.mentions('quiet')]).toEqual([1, 1]);
  });

  test('opening an empty room makes a position: what follows is unread', () => {
    const reads = new ReadState();
    reads.known([room('new', 0)]);
    expect(reads.read('new', 0)).toBe(true);
    expect(reads.read('new', 0)).toBe(false);
    reads.head('new', 2);
    expect(reads.unread('new')).toBe(2);
  });

  test('a position read in another tab (read:updated) clears counts here; an older one changes nothing', () => {
    const reads = new ReadState();
    reads.known([room('a', 9)]);
    reads.apply([{ roomId: 'a', seq: 2, mentions: [5] }]);
    reads.apply([{ roomId: 'a', seq: 9, mentions: [] }]);
    expect([reads.unread('a'), reads.mentions('a')]).toEqual([0, 0]);
    reads.apply([{ roomId: 'a', seq: 2, mentions: [5] }]); // late and stale
    expect([reads.unread('a'), reads.mentions('a'), reads.readSeq('a')]).toEqual([0, 0, 9]);
  });
});

describe('ReadMarker', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const marker = (answer: () => Promise<boolean> = async () => true) => {
    const sent: [string, number][] = [];
    const instance = new ReadMarker(
      (roomId, seq) => {
        sent.push([roomId, seq]);
        return answer();
      },
      1000,
      () => Date.now(),
    );
    return { sent, instance };
  };

  test('sends the first position at once, then at most once a second with the newest one', () => {
    const { sent, instance } = marker();
    instance.mark('a', 3);
    instance.mark('a', 4);
    instance.mark('a', 6);
    expect(sent).toEqual([['a', 3]]);
    jest.advanceTimersByTime(999);
    expect(sent).toEqual([['a', 3]]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual([['a', 3], ['a', 6]]);
  });

  test('only forward: positions at or below what was sent or confirmed are not sent', () => {
    const { sent, instance } = marker();
    instance.confirmed('a', 10);
    instance.mark('a', 9);
    instance.mark('a', 10);
    jest.advanceTimersByTime(5000);
    expect(sent).toEqual([]);
    instance.mark('a', 11);
    expect(sent).toEqual([['a', 11]]);
  });

  test('an empty room opened is marked at 0, once', () => {
    const { sent, instance } = marker();
    instance.mark('a', 0);
    jest.advanceTimersByTime(5000);
    instance.mark('a', 0);
    expect(sent).toEqual([['a', 0]]);
  });

  test('rooms are paced separately', () => {
    const { sent, instance } = marker();
    instance.mark('a', 1);
    instance.mark('b', 1);
    expect(sent).toEqual([['a', 1], ['b', 1]]);
  });

  test('a send that failed is sent again by the next mark', async () => {
    const { sent, instance } = marker(async () => false);
    instance.mark('a', 5);
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(1000);
    instance.mark('a', 5);
    expect(sent).toEqual([['a', 5], ['a', 5]]);
  });
});
