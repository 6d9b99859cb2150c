import { CatchUpDriver, GAP_WAIT_MS, HOLE_GRACE_MS, type StreamCursor } from '../src/shared/catch-up';

/** When catch-up runs (shared by messages and changes), on a bare counter stream. */
class Counter implements StreamCursor {
  through = 0;
  head = 0;
  get hasGap() {
    return this.head > this.through;
  }
  announce(n: number) {
    this.head = Math.max(this.head, n);
  }
}

/** A driver whose rounds are answered by the test: each round waits for `answer(upTo)` or `refuse()`. */
class Driver extends CatchUpDriver<Counter> {
  rounds = 0;
  private pending: { resolve: (upTo: number) => void; reject: (error: Error) => void }[] = [];

  track(roomId: string): Counter {
    const cursor = new Counter();
    this.cursors.set(roomId, cursor);
    return cursor;
  }

  seen(roomId: string, n: number) {
    this.cursors.get(roomId)!.announce(n);
    this.arrivedLive(roomId);
  }

  answer(upTo: number) {
    this.pending.shift()!.resolve(upTo);
  }

  refuse() {
    this.pending.shift()!.reject(new Error('disconnected'));
  }

  get waiting() {
    return this.pending.length;
  }

  protected override async fetchRound(_roomId: string, cursor: Counter, current: () => boolean) {
    this.rounds += 1;
    const upTo = await new Promise<number>((resolve, reject) => this.pending.push({ resolve, reject }));
    if (current()) cursor.through = upTo;
  }
}

const ROOM = 'room';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('requests during a round fold into one more round, not one each', async () => {
  const driver = new Driver();
  driver.track(ROOM);
  const first = driver.catchUp(ROOM);
  void driver.catchUp(ROOM);
  void driver.catchUp(ROOM);
  driver.answer(1);
  await jest.advanceTimersByTimeAsync(0);
  expect(driver.waiting).toBe(1);
  driver.answer(2);
  await first;
  expect(driver.rounds).toBe(2);
  driver.stop();
});

test('a live gap waits GAP_WAIT_MS for the missing item, then catches up once', async () => {
  const driver = new Driver();
  driver.track(ROOM);
  driver.seen(ROOM, 3);
  driver.seen(ROOM, 4);
  await jest.advanceTimersByTimeAsync(GAP_WAIT_MS - 1);
  expect(driver.rounds).toBe(0);
  await jest.advanceTimersByTimeAsync(1);
  expect(driver.rounds).toBe(1);
  driver.answer(4);
  await jest.advanceTimersByTimeAsync(HOLE_GRACE_MS * 2);
  expect(driver.rounds).toBe(1);
  driver.stop();
});

test('a gap the live stream closes by itself fetches nothing', async () => {
  const driver = new Driver();
  const cursor = driver.track(ROOM);
  driver.seen(ROOM, 2);
  cursor.through = 2;
  await jest.advanceTimersByTimeAsync(GAP_WAIT_MS * 2);
  expect(driver.rounds).toBe(0);
  driver.stop();
});

test('a round that leaves a gap looks again after HOLE_GRACE_MS', async () => {
  const driver = new Driver();
  driver.track(ROOM);
  driver.head(ROOM, 5);
  await jest.advanceTimersByTimeAsync(GAP_WAIT_MS);
  driver.answer(3);
  await jest.advanceTimersByTimeAsync(HOLE_GRACE_MS - 1);
  expect(driver.rounds).toBe(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(driver.rounds).toBe(2);
  driver.answer(5);
  driver.stop();
});

test('an announcement at or below what is applied fetches nothing', async () => {
  const driver = new Driver();
  driver.track(ROOM).through = 7;
  driver.head(ROOM, 7);
  driver.head('unknown-room', 9);
  await jest.advanceTimersByTimeAsync(GAP_WAIT_MS * 2);
  expect(driver.rounds).toBe(0);
  driver.stop();
});

test('a refused round is dropped quietly; the next request runs again', async () => {
  const driver = new Driver();
  const cursor = driver.track(ROOM);
  const refused = driver.catchUp(ROOM);
  driver.refuse();
  await expect(refused).resolves.toBeUndefined();
  const retried = driver.catchUp(ROOM);
  driver.answer(1);
  await retried;
  expect(cursor.through).toBe(1);
  driver.stop();
});

test('a room forgotten during a round is not applied and not scheduled again', async () => {
  const driver = new Driver();
  const cursor = driver.track(ROOM);
  cursor.announce(9);
  const running = driver.catchUp(ROOM);
  driver.forget(ROOM);
  driver.answer(3);
  await running;
  expect(cursor.through).toBe(0);
  await jest.advanceTimersByTimeAsync(HOLE_GRACE_MS * 2);
  expect(driver.rounds).toBe(1);
  driver.stop();
});

test('stop cancels what was scheduled', async () => {
  const driver = new Driver();
  driver.track(ROOM);
  driver.head(ROOM, 2);
  driver.stop();
  await jest.advanceTimersByTimeAsync(GAP_WAIT_MS * 2);
  expect(driver.rounds).toBe(0);
});
