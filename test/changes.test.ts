import { ChangeSync, RevCursor, isNewer } from '../src/shared/changes';
import type { ChangesPage, MessageDTO } from '../src/shared/protocol';
import { HOLE_GIVE_UP_MS } from '../src/shared/catch-up';

/** Convergence of edits, deletes and reactions by the room's change numbers (src/shared/changes.ts). */
const ROOM = 'a'.repeat(24);
const message = (seq: number, rev: number, text = `message ${seq}`): MessageDTO => ({
  id: `m${String(seq).padStart(23, '0')}`,
  roomId: ROOM,
  seq,
  author: { id: 'b'.repeat(24), name: 'Alice', avatarUrl: null },
  text,
  createdAt: new Date(0).toISOString(),
  clientId: `client-${seq}`,
  rev,
  editedAt: rev > 0 ? new Date(rev).toISOString() : null,
  deleted: false,
  mentions: [],
  reactions: [],
});
const page = (messages: MessageDTO[], complete = true): ChangesPage => ({ roomId: ROOM, messages, complete });

test('a newer copy replaces the held one, an older or equal one never does', () => {
  expect(isNewer(undefined, message(1, 0))).toBe(true);
  expect(isNewer(message(1, 2), message(1, 3))).toBe(true);
  expect(isNewer(message(1, 3), message(1, 3))).toBe(false);
  expect(isNewer(message(1, 3), message(1, 2))).toBe(false);
});

describe('RevCursor', () => {
  test('starts from the rev the room was read at and follows consecutive live changes', () => {
    const cursor = new RevCursor(ROOM, 4);
    expect([cursor.through, cursor.hasGap]).toEqual([4, false]);
    cursor.saw(5);
    cursor.saw(6);
    cursor.saw(3); // an old one again: nothing moves back
    expect([cursor.through, cursor.head, cursor.hasGap]).toEqual([6, 6, false]);
  });

  test('a live change past the next rev, or an announced head past it, is a gap', () => {
    const cursor = new RevCursor(ROOM, 4);
    cursor.saw(6);
    expect([cursor.through, cursor.head, cursor.hasGap]).toEqual([4, 6, true]);
    const announced = new RevCursor(ROOM, 4);
    announced.announce(9);
    expect(announced.hasGap).toBe(true);
    announced.announce(2);
    expect(announced.head).toBe(9);
  });

  test('catch-up starts at the applied rev (inclusive), and never at 0 (every unchanged message)', () => {
    expect(new RevCursor(ROOM, 0).fromRev).toBe(1);
    expect(new RevCursor(ROOM, 7).fromRev).toBe(7);
  });

  test('a page applies everything up to its last rev, overwritten revs included', () => {
    const cursor = new RevCursor(ROOM, 4);
    cursor.saw(8);
    // Revs 5 and 7 were changes to message 1 that rev 8 overwrote: the page has its newest copy only.
    cursor.applyPage(4, page([message(2, 6), message(1, 8)]), 0);
    expect([cursor.through, cursor.hasGap]).toEqual([8, false]);
  });

  test('an incomplete page moves up to its last rev; the rest comes from there', () => {
    const cursor = new RevCursor(ROOM, 0);
    cursor.announce(10);
    cursor.applyPage(1, page([message(1, 2), message(2, 5)], false), 0);
    expect([cursor.through, cursor.hasGap]).toEqual([5, true]);
  });

  test('a head that a complete catch-up does not reach is looked for until HOLE_GIVE_UP_MS, then counted done', () => {
    const cursor = new RevCursor(ROOM, 4);
    cursor.announce(6);
    cursor.applyPage(4, page([message(1, 5)]), 0);
    expect([cursor.through, cursor.hasGap]).toEqual([5, true]);
    cursor.applyPage(5, page([message(1, 5)]), HOLE_GIVE_UP_MS - 1);
    expect(cursor.hasGap).toBe(true);
    cursor.applyPage(5, page([message(1, 5)]), HOLE_GIVE_UP_MS);
    expect([cursor.through, cursor.hasGap]).toEqual([6, false]);
  });
});

describe('ChangeSync', () => {
  /** A room whose messages changed; answers message:change with the messages of rev >= fromRev, by rev. */
  const server = (messages: MessageDTO[], pageSize = 100) => {
    const requests: number[] = [];
    return {
      requests,
      messages,
      fetchChanges: async (_roomId: string, fromRev: number) => {
        requests.push(fromRev);
        const found = messages.filter((m) => m.rev >= fromRev).sort((a, b) => a.rev - b.rev).slice(0, pageSize);
        return page(found, found.length < pageSize);
      },
    };
  };

  test('catchUp pages by the last rev until complete and hands over every message returned', async () => {
    const store = server(Array.from({ length: 250 }, (_, i) => message(i + 1, i + 1)));
    const applied: number[] = [];
    const sync = new ChangeSync({ fetchChanges: store.fetchChanges, onChanged: (_room, messages) => applied.push(...messages.map((m) => m.rev)) });
    sync.track(ROOM, 0);
    await sync.catchUp(ROOM);
    expect(store.requests).toEqual([1, 100, 199]);
    expect(new Set(applied).size).toBe(250);
    expect(sync.cursor(ROOM)!.through).toBe(250);
    sync.stop();
  });

  test('a live change after a missed one fetches what was missed, from the applied rev', async () => {
    const store = server([message(1, 5, 'edited'), message(2, 6, 'edited too')]);
    let done: () => void = () => {};
    const caughtUp = new Promise<void>((resolve) => (done = resolve));
    const got: string[] = [];
    const sync = new ChangeSync({
      fetchChanges: store.fetchChanges,
      onChanged: (_room, messages) => {
        got.push(...messages.map((m) => m.text));
        done();
      },
    });
    sync.track(ROOM, 4);
    sync.live(message(2, 6, 'edited too')); // rev 5 never arrived live
    await caughtUp;
    expect(store.requests).toEqual([4]);
    expect(got).toEqual(['edited', 'edited too']);
    expect(sync.cursor(ROOM)!.hasGap).toBe(false);
    sync.stop();
  });

  test('consecutive live changes and old announcements fetch nothing', async () => {
    const store = server([]);
    const sync = new ChangeSync({ fetchChanges: store.fetchChanges, onChanged: () => {} });
    sync.track(ROOM, 2);
    sync.live(message(1, 3));
    sync.head(ROOM, 3);
    sync.head(ROOM, 1);
    sync.live({ ...message(1, 5), roomId: 'c'.repeat(24) }); // a room not followed
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(store.requests).toEqual([]);
    sync.stop();
  });

  test('a room forgotten while its changes are fetched is not handed over', async () => {
    const store = server([message(1, 3)]);
    const changed: MessageDTO[] = [];
    const sync = new ChangeSync({ fetchChanges: store.fetchChanges, onChanged: (_r, m) => changed.push(...m) });
    sync.track(ROOM, 1);
    const running = sync.catchUp(ROOM);
    sync.forget(ROOM);
    await running;
    expect(changed).toEqual([]);
    sync.stop();
  });
});
