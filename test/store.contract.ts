import { DuplicateNameError, type MessageRecord, type Store } from '../src/store/types';

/**
 * The behaviour every Store must have, run against each implementation
 * (test/store.test.ts). `makeStore` returns a fresh, empty store.
 */
export function runStoreContract(name: string, makeStore: () => Promise<Store>) {
  describe(`${name} store contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      jest.useRealTimers();
      await store.close();
    });

    const id = /^[0-9a-f]{24}$/;
    const unknownId = 'aaaaaaaaaaaaaaaaaaaaaaaa';

    describe('users', () => {
      test('findOrCreateByName creates a user once, matching names case-insensitively (Unicode too)', async () => {
        const created = await store.users.findOrCreateByName('Élodie');
        expect(created).toMatchObject({ name: 'Élodie', avatar: null });
        expect(created.id).toMatch(id);
        expect(created.createdAt).toBeInstanceOf(Date);
        expect(created.updatedAt).toBeInstanceOf(Date);
        const again = await store.users.findOrCreateByName('éLODIE');
        expect(again).toEqual(created); // the first spelling stays
        expect((await store.users.findOrCreateByName('Elodie')).id).not.toBe(created.id);
      });

      test('concurrent sign-ins with one name make one user', async () => {
        const users = await Promise.all(['Sam', 'SAM', 'sam', 'Sam'].map((n) => store.users.findOrCreateByName(n)));
        expect(new Set(users.map((u) => u.id)).size).toBe(1);
      });

      test('findById returns the user, or null for unknown and malformed ids', async () => {
        const user = await store.users.findOrCreateByName('Ann');
        expect(await store.users.findById(user.id)).toEqual(user);
        expect(await store.users.findById(unknownId)).toBeNull();
        expect(await store.users.findById('not-an-id')).toBeNull();
      });

      test('findByIds returns the known users in the order asked, skipping unknown ids', async () => {
        const a = await store.users.findOrCreateByName('A');
        const b = await store.users.findOrCreateByName('B');
        expect(await store.users.findByIds([b.id, unknownId, a.id, 'junk'])).toEqual([b, a]);
        expect(await store.users.findByIds([])).toEqual([]);
      });

      test('setAvatar stores the file, returns the file it replaced, and bumps updatedAt', async () => {
        const user = await store.users.findOrCreateByName('Pic');
        const first = await store.users.setAvatar(user.id, 'one.png');
        expect(first).toEqual({ user: { ...user, avatar: 'one.png', updatedAt: expect.any(Date) }, previous: null });
        expect(first!.user.updatedAt.getTime()).toBeGreaterThanOrEqual(user.updatedAt.getTime());
        const second = await store.users.setAvatar(user.id, 'two.png');
        expect(second!.previous).toBe('one.png');
        expect(second!.user.avatar).toBe('two.png');
        expect(await store.users.findById(user.id)).toEqual(second!.user);
        expect(await store.users.setAvatar(unknownId, 'x.png')).toBeNull();
      });
    });

    describe('rooms', () => {
      test('create refuses a name taken in any case; ensure returns the existing room', async () => {
        const room = await store.rooms.create('Café');
        expect(room).toEqual({ id: expect.stringMatching(id), name: 'Café', createdAt: expect.any(Date) });
        await expect(store.rooms.create('CAFÉ')).rejects.toBeInstanceOf(DuplicateNameError);
        expect(await store.rooms.ensure('café')).toEqual(room);
        const fresh = await store.rooms.ensure('general');
        expect(fresh.name).toBe('general');
        expect(await store.rooms.ensure('General')).toEqual(fresh);
      });

      test('concurrent creates of one name: exactly one wins', async () => {
        const results = await Promise.allSettled(['x', 'X', 'x'].map((n) => store.rooms.create(n)));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(DuplicateNameError);
      });

      test('findById and list (oldest first)', async () => {
        const made = [];
        for (const n of ['one', 'two', 'three']) made.push(await store.rooms.create(n));
        expect(await store.rooms.findById(made[1]!.id)).toEqual(made[1]);
        expect(await store.rooms.findById(unknownId)).toBeNull();
        expect(await store.rooms.findById('nope')).toBeNull();
        expect(await store.rooms.list()).toEqual(made);
      });
    });

    describe('messages', () => {
      const setup = async () => {
        const author = await store.users.findOrCreateByName('Writer');
        const room = await store.rooms.create('history');
        const other = await store.rooms.create('other');
        return { author, room, other };
      };

      test('add stores a message with a server timestamp', async () => {
        const { author, room } = await setup();
        const before = Date.now();
        const message = await store.messages.add({ roomId: room.id, authorId: author.id, text: 'hello', clientId: 'c1' });
        expect(message).toEqual({
          id: expect.stringMatching(id),
          roomId: room.id,
          authorId: author.id,
          text: 'hello',
          clientId: 'c1',
          createdAt: expect.any(Date),
        });
        expect(message.createdAt.getTime()).toBeGreaterThanOrEqual(before);
        expect(await store.messages.page(room.id, { limit: 10 })).toEqual([message]);
      });

      test('add is idempotent per (authorId, clientId), also when retried concurrently', async () => {
        const { author, room } = await setup();
        const other = await store.users.findOrCreateByName('Other');
        const input = { roomId: room.id, authorId: author.id, text: 'once', clientId: 'same' };
        const first = await store.messages.add(input);
        expect(await store.messages.add({ ...input, text: 'changed' })).toEqual(first);
        const racing = await Promise.all([1, 2, 3].map(() => store.messages.add({ ...input, clientId: 'race' })));
        expect(new Set(racing.map((m) => m.id)).size).toBe(1);
        // Another author may use the same clientId.
        const theirs = await store.messages.add({ ...input, authorId: other.id });
        expect(theirs.id).not.toBe(first.id);
        expect(await store.messages.page(room.id, { limit: 10 })).toHaveLength(3);
      });

      test('page: newest first, limited, per room, then older pages by cursor, even with equal timestamps', async () => {
        const { author, room, other } = await setup();
        // Freeze the clock (only Date) so messages share timestamps and the id breaks ties.
        jest.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), doNotFake: [...NOT_DATE] });
        const sent: MessageRecord[] = [];
        for (let i = 0; i < 11; i += 1) {
          if (i === 4 || i === 8) jest.setSystemTime(Date.now() + 1000);
          sent.push(await store.messages.add({ roomId: room.id, authorId: author.id, text: `m${i}`, clientId: `c${i}` }));
          await store.messages.add({ roomId: other.id, authorId: author.id, text: 'elsewhere', clientId: `o${i}` });
        }
        jest.useRealTimers();
        const newestFirst = [...sent].reverse();

        const pages: MessageRecord[][] = [];
        let before: MessageRecord | undefined;
        for (;;) {
          const page = await store.messages.page(room.id, { limit: 3, before });
          if (page.length === 0) break;
          pages.push(page);
          before = page.at(-1);
        }
        expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 2]);
        expect(pages.flat()).toEqual(newestFirst);
        expect(await store.messages.page(room.id, { limit: 100 })).toEqual(newestFirst);
        expect(await store.messages.page(room.id, { limit: 2, before: sent[5] })).toEqual([sent[4], sent[3]]);
        expect(await store.messages.page(unknownId, { limit: 5 })).toEqual([]);
      });
    });

    test('isReady answers true and the session store keeps sessions', async () => {
      expect(await store.isReady()).toBe(true);
      const sessions = store.createSessionStore();
      const session = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) }, userId: 'u1' };
      await new Promise<void>((resolve, reject) => sessions.set('sid1', session as never, (e) => (e ? reject(e) : resolve())));
      const loaded = await new Promise((resolve, reject) => sessions.get('sid1', (e, s) => (e ? reject(e) : resolve(s))));
      expect(loaded).toMatchObject({ userId: 'u1' });
      await new Promise<void>((resolve, reject) => sessions.destroy('sid1', (e) => (e ? reject(e) : resolve())));
      expect(await new Promise((resolve, reject) => sessions.get('sid1', (e, s) => (e ? reject(e) : resolve(s))))).toBeFalsy();
    });
  });
}

/** Everything jest can fake except Date: timers must keep running for the drivers. */
const NOT_DATE = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;
