import type { MessageDTO } from '../src/shared/protocol';
import { HOLE_GIVE_UP_MS, HOLE_GRACE_MS } from '../src/shared/catch-up';
import { RoomSync, RoomTimeline } from '../src/shared/timeline';

/** The client side of the delivery guarantee (README, "Recovery protocol for clients") on its own. */
const ROOM = 'a'.repeat(24);
const message = (seq: number, room = ROOM): MessageDTO => ({
  id: `m${String(seq).padStart(23, '0')}`,
  roomId: room,
  seq,
  author: { id: 'b'.repeat(24), name: 'Alice', avatarUrl: null },
  text: `message ${seq}`,
  createdAt: new Date(0).toISOString(),
  clientId: `client-${seq}`,
  rev: 0,
  editedAt: null,
  deleted: false,
  mentions: [],
  reactions: [],
});
const seqs = (timeline: RoomTimeline) => timeline.sorted().map((m) => m.seq);

describe('RoomTimeline', () => {
  test('keeps messages sorted by seq and once each, whatever order and how often they arrive', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1), message(2)]);
    expect(timeline.add([message(4), message(3), message(4), message(2)]).map((m) => m.seq)).toEqual([4, 3]);
    expect(seqs(timeline)).toEqual([1, 2, 3, 4]);
    expect(timeline.through).toBe(4);
    expect(timeline.add([message(5, 'c'.repeat(24))])).toEqual([]);
  });

  test('a live message past the next seq is a gap until the missing one arrives', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1)]);
    timeline.add([message(3)]);
    expect(timeline.hasGap).toBe(true);
    expect(timeline.through).toBe(1);
    timeline.add([message(2)]);
    expect(timeline.hasGap).toBe(false);
    expect(timeline.through).toBe(3);
  });

  test('a head announcement past what it holds is a gap', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1)]);
    timeline.announce(3);
    expect(timeline.hasGap).toBe(true);
    expect(timeline.head).toBe(3);
  });

  test('a seq a catch-up skipped stays a hole until HOLE_GIVE_UP_MS, then counts as unused', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1)]);
    timeline.applySince(1, { roomId: ROOM, messages: [message(3)], complete: true }, 0);
    expect(timeline.through).toBe(1);
    // Asked again after the grace: still missing, but it may be an insert still running.
    timeline.applySince(1, { roomId: ROOM, messages: [message(3)], complete: true }, HOLE_GRACE_MS);
    expect(timeline.through).toBe(1);
    timeline.applySince(1, { roomId: ROOM, messages: [message(3)], complete: true }, HOLE_GIVE_UP_MS);
    expect(timeline.through).toBe(3);
    expect(timeline.hasGap).toBe(false);
  });

  test('a slow insert that shows up before the give-up fills its hole', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1)]);
    timeline.applySince(1, { roomId: ROOM, messages: [message(3)], complete: true }, 0);
    timeline.applySince(1, { roomId: ROOM, messages: [message(2), message(3)], complete: true }, HOLE_GRACE_MS * 2);
    expect(seqs(timeline)).toEqual([1, 2, 3]);
    expect(timeline.through).toBe(3);
  });

  test('a seq given up on is still shown if it arrives later', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1)]);
    timeline.applySince(1, { roomId: ROOM, messages: [message(3)], complete: true }, 0);
    timeline.applySince(1, { roomId: ROOM, messages: [message(3)], complete: true }, HOLE_GIVE_UP_MS);
    expect(timeline.add([message(2)]).map((m) => m.seq)).toEqual([2]);
    expect(seqs(timeline)).toEqual([1, 2, 3]);
  });

  test('update keeps the newest copy of each held message and never goes back', () => {
    const timeline = new RoomTimeline(ROOM);
    timeline.reset([message(1), message(2)]);
    const edited = { ...message(2), text: 'edited', rev: 3, editedAt: new Date(1).toISOString() };
    expect(timeline.update([edited])).toEqual([edited]);
    expect(timeline.update([{ ...message(2), rev: 2 }])).toEqual([]); // older than the one held
    expect(timeline.update([edited])).toEqual([]); // the same rev again
    expect(timeline.update([{ ...message(5), rev: 4 }])).toEqual([]); // not held: left to add()
    expect(timeline.sorted().map((m) => m.text)).toEqual(['message 1', 'edited']);
    expect(timeline.through).toBe(2);
  });
});

describe('RoomSync', () => {
  /** A store of `count` messages answering message:since in pages of `pageSize`, counting requests. */
  const server = (count: number, pageSize = 100) => {
    const all = Array.from({ length: count }, (_, i) => message(i + 1));
    const requests: number[] = [];
    return {
      requests,
      fetchSince: async (_roomId: string, afterSeq: number) => {
        requests.push(afterSeq);
        const messages = all.filter((m) => m.seq > afterSeq).slice(0, pageSize);
        return { roomId: ROOM, messages, complete: messages.at(-1)?.seq === count || messages.length === 0 };
      },
    };
  };

  test('catchUp pages until complete and reports what it added once', async () => {
    const store = server(250);
    const added: number[] = [];
    const sync = new RoomSync({ fetchSince: store.fetchSince, onAdded: (_room, messages) => added.push(...messages.map((m) => m.seq)) });
    sync.timeline(ROOM).reset([message(1)]);
    await sync.catchUp(ROOM);
    expect(store.requests).toEqual([1, 101, 201]);
    expect(added).toEqual(Array.from({ length: 249 }, (_, i) => i + 2));
    expect(sync.timeline(ROOM).through).toBe(250);
    sync.stop();
  });

  test('a live message after a gap schedules a catch-up that fills it', async () => {
    const store = server(3);
    let resolveAdded: () => void = () => {};
    const filled = new Promise<void>((resolve) => (resolveAdded = resolve));
    const sync = new RoomSync({ fetchSince: store.fetchSince, onAdded: () => resolveAdded() });
    sync.timeline(ROOM).reset([message(1)]);
    sync.live(message(3));
    await filled;
    expect(seqs(sync.timeline(ROOM))).toEqual([1, 2, 3]);
    sync.stop();
  });
});
