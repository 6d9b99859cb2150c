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

    describe('users: names that look alike, protection, sessions', () => {
      test('findByName finds a user by skeleton: case, fullwidth and Cyrillic lookalikes meet; it creates nothing', async () => {
        const alice = await store.users.findOrCreateByName('alice');
        for (const lookalike of ['ALICE', 'ａｌｉｃｅ', '\u0430lice', 'AIice']) expect((await store.users.findByName(lookalike))?.id).toBe(alice.id);
        expect(await store.users.findByName('bob')).toBeNull();
        expect(await store.users.findByName('bob')).toBeNull();
        expect((await store.users.findOrCreateByName('\u0430lice')).id).toBe(alice.id);
      });

      test('a new user is unprotected; a password hash and passkeys are stored, updated and removed', async () => {
        const user = await store.users.findOrCreateByName('Guarded');
        expect(user).toMatchObject({ passwordHash: null, passkeys: [], sessionEpoch: 0 });
        expect((await store.users.setPassword(user.id, '$argon2id$x'))!.passwordHash).toBe('$argon2id$x');
        const passkey = { id: 'cred-1', publicKey: 'pk', counter: 0, transports: ['internal'], createdAt: new Date() };
        expect((await store.users.addPasskey(user.id, passkey))!.passkeys).toEqual([passkey]);
        await store.users.addPasskey(user.id, { ...passkey, id: 'cred-2' });
        await store.users.setPasskeyCounter(user.id, 'cred-1', 7);
        const found = await store.users.findById(user.id);
        expect(found!.passkeys.map((p) => [p.id, p.counter])).toEqual([['cred-1', 7], ['cred-2', 0]]);
        expect((await store.users.removePasskey(user.id, 'cred-1'))!.passkeys.map((p) => p.id)).toEqual(['cred-2']);
        expect((await store.users.setPassword(user.id, null))!.passwordHash).toBeNull();
        expect(await store.users.setPassword(unknownId, 'x')).toBeNull();
      });

      test('deleteIdleUnprotected removes idle accounts without password or passkey, handing back their sessions', async () => {
        const idle = await store.users.findOrCreateByName('Idle');
        await store.users.addSession(idle.id, 's1');
        const withPassword = await store.users.findOrCreateByName('Locked');
        await store.users.setPassword(withPassword.id, '$argon2id$x');
        const withPasskey = await store.users.findOrCreateByName('Keyed');
        await store.users.addPasskey(withPasskey.id, { id: 'c', publicKey: 'p', counter: 0, transports: [], createdAt: new Date() });
        expect(await store.users.deleteIdleUnprotected(new Date(0), 10)).toEqual([]); // nobody idle since 1970
        await store.users.touch(idle.id);
        const removed = await store.users.deleteIdleUnprotected(new Date(Date.now() + 60_000), 10);
        expect(removed).toEqual([{ id: idle.id, sessionIds: ['s1'] }]);
        expect(await store.users.findById(idle.id)).toBeNull();
        expect(await store.users.findByName('Idle')).toBeNull();
        expect((await store.users.findOrCreateByName('Idle')).id).not.toBe(idle.id); // the name is free again
        expect((await store.users.findByIds([withPassword.id, withPasskey.id])).map((u) => u.name)).toEqual(['Locked', 'Keyed']);
      });

      test('endSessions raises the epoch and hands back the sessions remembered since the last time', async () => {
        const user = await store.users.findOrCreateByName('Many');
        await store.users.addSession(user.id, 's1');
        await store.users.addSession(user.id, 's2');
        await store.users.addSession(user.id, 's3');
        await store.users.removeSession(user.id, 's2');
        expect(await store.users.endSessions(user.id)).toEqual({ sessionEpoch: 1, sessionIds: ['s1', 's3'] });
        expect(await store.users.endSessions(user.id)).toEqual({ sessionEpoch: 2, sessionIds: [] });
        expect((await store.users.findById(user.id))!.sessionEpoch).toBe(2);
        expect(await store.users.endSessions(unknownId)).toBeNull();
      });
    });

    describe('rooms', () => {
      test('create refuses a name taken in any case; ensure returns the existing room', async () => {
        const room = await store.rooms.create('Café');
        expect(room).toEqual({ id: expect.stringMatching(id), name: 'Café', createdAt: expect.any(Date), headSeq: 0 });
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

      test('findById and list (oldest first, a page at a time)', async () => {
        const made = [];
        for (const n of ['one', 'two', 'three']) made.push(await store.rooms.create(n));
        expect(await store.rooms.findById(made[1]!.id)).toEqual(made[1]);
        expect(await store.rooms.findById(unknownId)).toBeNull();
        expect(await store.rooms.findById('nope')).toBeNull();
        expect(await store.rooms.list({ limit: 10 })).toEqual(made);
        expect(await store.rooms.list({ limit: 2 })).toEqual(made.slice(0, 2));
        expect(await store.rooms.list({ limit: 2, after: made[1]! })).toEqual(made.slice(2));
        expect(await store.rooms.list({ limit: 2, after: made[2]! })).toEqual([]);
        expect(await store.rooms.count()).toBe(3);
      });
    });

    describe('messages', () => {
      const setup = async () => {
        const author = await store.users.findOrCreateByName('Writer');
        const room = await store.rooms.create('history');
        const other = await store.rooms.create('other');
        return { author, room, other };
      };

      const add = async (roomId: string, authorId: string, text: string, clientId: string) => {
        const [appended] = (await store.messages.append(roomId, [{ authorId, text, clientId }]))!;
        return appended!.record;
      };

      test('append stores a message with the room\'s next seq and a server timestamp', async () => {
        const { author, room } = await setup();
        const before = Date.now();
        const appended = await store.messages.append(room.id, [{ authorId: author.id, text: 'hello', clientId: 'c1' }]);
        expect(appended).toEqual([
          {
            created: true,
            record: {
              id: expect.stringMatching(id),
              roomId: room.id,
              seq: 1,
              authorId: author.id,
              text: 'hello',
              clientId: 'c1',
              createdAt: expect.any(Date),
            },
          },
        ]);
        const message = appended![0]!.record;
        expect(message.createdAt.getTime()).toBeGreaterThanOrEqual(before);
        expect(await store.messages.page(room.id, { limit: 10 })).toEqual([message]);
        expect((await store.rooms.findById(room.id))!.headSeq).toBe(1);
        expect(await store.messages.append(unknownId, [{ authorId: author.id, text: 'lost', clientId: 'c2' }])).toBeNull();
      });

      test('a batch gets consecutive seqs in its order; each room counts on its own', async () => {
        const { author, room, other } = await setup();
        await add(other.id, author.id, 'elsewhere', 'o1');
        const batch = await store.messages.append(
          room.id,
          ['a', 'b', 'c'].map((text) => ({ authorId: author.id, text, clientId: `b-${text}` })),
        );
        expect(batch!.map((m) => [m.record.seq, m.record.text])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
        expect((await add(other.id, author.id, 'again', 'o2')).seq).toBe(2);
      });

      test('concurrent appends to one room get 1..n exactly', async () => {
        const { author, room } = await setup();
        const stored = await Promise.all(Array.from({ length: 40 }, (_, i) => add(room.id, author.id, `m${i}`, `p${i}`)));
        expect(stored.map((m) => m.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      });

      test('append is idempotent per (authorId, clientId), also when retried concurrently', async () => {
        const { author, room } = await setup();
        const other = await store.users.findOrCreateByName('Other');
        const first = await add(room.id, author.id, 'once', 'same');
        const again = await store.messages.append(room.id, [{ authorId: author.id, text: 'changed', clientId: 'same' }]);
        expect(again).toEqual([{ record: first, created: false }]);
        const racing = await Promise.all([1, 2, 3].map(() => store.messages.append(room.id, [{ authorId: author.id, text: 'r', clientId: 'race' }])));
        const results = racing.map((r) => r![0]!);
        expect(new Set(results.map((r) => r.record.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        // The same clientId twice in one batch is one message too.
        const twice = await store.messages.append(room.id, [1, 2].map(() => ({ authorId: author.id, text: 't', clientId: 'twice' })));
        expect(twice![0]!.record.id).toBe(twice![1]!.record.id);
        // Another author may use the same clientId.
        const theirs = await add(room.id, other.id, 'once', 'same');
        expect(theirs.id).not.toBe(first.id);
        expect(await store.messages.page(room.id, { limit: 10 })).toHaveLength(4);
      });

      test('a resend marked as such costs no seq: the next message follows the stored one without a gap', async () => {
        const { author, room } = await setup();
        const first = await add(room.id, author.id, 'once', 'marked');
        for (let i = 0; i < 3; i += 1) {
          const [again] = (await store.messages.append(room.id, [{ authorId: author.id, text: 'once', clientId: 'marked', resend: true }]))!;
          expect(again).toEqual({ record: first, created: false });
        }
        // A marked message that was never stored is stored as usual.
        const [fresh] = (await store.messages.append(room.id, [{ authorId: author.id, text: 'new', clientId: 'never-sent', resend: true }]))!;
        expect(fresh).toMatchObject({ created: true, record: { seq: first.seq + 1 } });
        expect((await add(room.id, author.id, 'next', 'after')).seq).toBe(first.seq + 2);
      });

      test('page: newest first, limited, per room, then older pages below a seq; since: oldest first after a seq', async () => {
        const { author, room, other } = await setup();
        const sent: MessageRecord[] = [];
        for (let i = 0; i < 11; i += 1) {
          sent.push(await add(room.id, author.id, `m${i}`, `c${i}`));
          await add(other.id, author.id, 'elsewhere', `o${i}`);
        }
        const newestFirst = [...sent].reverse();

        const pages: MessageRecord[][] = [];
        let beforeSeq: number | undefined;
        for (;;) {
          const page = await store.messages.page(room.id, { limit: 3, beforeSeq });
          if (page.length === 0) break;
          pages.push(page);
          beforeSeq = page.at(-1)!.seq;
        }
        expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 2]);
        expect(pages.flat()).toEqual(newestFirst);
        expect(await store.messages.page(room.id, { limit: 100 })).toEqual(newestFirst);
        expect(await store.messages.page(room.id, { limit: 2, beforeSeq: sent[5]!.seq })).toEqual([sent[4], sent[3]]);
        expect(await store.messages.page(unknownId, { limit: 5 })).toEqual([]);

        expect(await store.messages.since(room.id, { afterSeq: 0, limit: 100 })).toEqual(sent);
        expect(await store.messages.since(room.id, { afterSeq: sent[7]!.seq, limit: 2 })).toEqual([sent[8], sent[9]]);
        expect(await store.messages.since(room.id, { afterSeq: 11, limit: 5 })).toEqual([]);
        expect(await store.messages.since(unknownId, { afterSeq: 0, limit: 5 })).toEqual([]);
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
