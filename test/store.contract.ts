import { LIMITS } from '../src/shared/protocol';
import { DuplicateNameError, nameKey, type MessageRecord, type Store } from '../src/store/types';

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

    describe('users: by name key', () => {
      test('findByNameKeys returns the users whose key is asked, once each, skipping unknown keys', async () => {
        const ann = await store.users.findOrCreateByName('Ann');
        const bob = await store.users.findOrCreateByName('Bob');
        const found = await store.users.findByNameKeys([nameKey('BOB'), nameKey('nobody'), nameKey('ann'), nameKey('Bob')]);
        expect(found.map((u) => u.id).sort()).toEqual([ann.id, bob.id].sort());
        expect(found.find((u) => u.id === bob.id)).toEqual(bob);
        expect(await store.users.findByNameKeys([])).toEqual([]);
        expect(await store.users.findByNameKeys(['Bob'])).toEqual([]); // a name is not its key
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
        expect(room).toEqual({ id: expect.stringMatching(id), name: 'Café', createdAt: expect.any(Date), headSeq: 0, headRev: 0, kind: 'public', members: [] });
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

    describe('direct conversations', () => {
      const people = async () => Promise.all(['Dana', 'Eli', 'Fay'].map((n) => store.users.findOrCreateByName(n)));

      test('ensureDirect creates the conversation of two people once, whichever of them asks', async () => {
        const [dana, eli] = await people();
        const first = await store.rooms.ensureDirect(dana!.id, eli!.id);
        expect(first).toEqual({
          created: true,
          room: {
            id: expect.stringMatching(id),
            name: '',
            createdAt: expect.any(Date),
            headSeq: 0,
            headRev: 0,
            kind: 'direct',
            members: [dana!.id, eli!.id].sort(),
          },
        });
        expect(await store.rooms.ensureDirect(eli!.id, dana!.id)).toEqual({ room: first.room, created: false });
        expect(await store.rooms.ensureDirect(dana!.id, eli!.id)).toEqual({ room: first.room, created: false });
        expect(await store.rooms.findById(first.room.id)).toEqual(first.room);
      });

      test('concurrent first calls, from both sides, create one conversation', async () => {
        const [dana, eli] = await people();
        const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => (i % 2 ? store.rooms.ensureDirect(dana!.id, eli!.id) : store.rooms.ensureDirect(eli!.id, dana!.id))));
        expect(new Set(results.map((r) => r.room.id)).size).toBe(1);
        expect(results.filter((r) => r.created)).toHaveLength(1);
        expect(await store.rooms.listDirect(dana!.id, 10)).toHaveLength(1);
      });

      test("listDirect: only the person's conversations, newest first, at most limit; list and count show only public rooms", async () => {
        const [dana, eli, fay] = await people();
        const general = await store.rooms.create('general');
        const danaEli = (await store.rooms.ensureDirect(dana!.id, eli!.id)).room;
        const eliFay = (await store.rooms.ensureDirect(fay!.id, eli!.id)).room;
        const danaFay = (await store.rooms.ensureDirect(dana!.id, fay!.id)).room;
        const later = await store.rooms.create('later');
        expect(await store.rooms.listDirect(dana!.id, 10)).toEqual([danaFay, danaEli]);
        expect(await store.rooms.listDirect(eli!.id, 10)).toEqual([eliFay, danaEli]);
        expect(await store.rooms.listDirect(fay!.id, 1)).toEqual([danaFay]);
        expect(await store.rooms.listDirect(unknownId, 10)).toEqual([]);
        expect(await store.rooms.listDirect('not-an-id', 10)).toEqual([]);
        expect(await store.rooms.list({ limit: 10 })).toEqual([general, later]);
        expect(await store.rooms.list({ limit: 10, after: general })).toEqual([later]);
        expect(await store.rooms.count()).toBe(2);
        // A conversation's key takes no room name, not even one spelled like it.
        expect((await store.rooms.create(`dm:${danaEli.members.join(':')}`)).kind).toBe('public');
      });

      test('a direct conversation holds messages like any room', async () => {
        const [dana, eli] = await people();
        const { room } = await store.rooms.ensureDirect(dana!.id, eli!.id);
        const [sent] = (await store.messages.append(room.id, [{ authorId: dana!.id, text: 'psst', clientId: 'd1' }]))!;
        expect(sent!.record.seq).toBe(1);
        expect((await store.rooms.ensureDirect(eli!.id, dana!.id)).room.headSeq).toBe(1);
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
              rev: 0,
              editedAt: null,
              deletedAt: null,
              mentions: [],
              reactions: [],
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

    describe('message changes', () => {
      const setup = async () => {
        const author = await store.users.findOrCreateByName('Editor');
        const mentioned = await store.users.findOrCreateByName('Named');
        const room = await store.rooms.create('edits');
        const other = await store.rooms.create('elsewhere');
        const send = async (text: string, roomId = room.id) => {
          const [appended] = (await store.messages.append(roomId, [{ authorId: author.id, text, clientId: `${roomId}-${text}` }]))!;
          return appended!.record;
        };
        return { author, mentioned, room, other, send };
      };

      test('append stores the mentions; a new message is unchanged, unedited, undeleted, without reactions', async () => {
        const { author, mentioned, room } = await setup();
        const mentions = [{ userId: mentioned.id, text: 'named' }];
        const [appended] = (await store.messages.append(room.id, [{ authorId: author.id, text: 'hi @named', clientId: 'm1', mentions }]))!;
        expect(appended!.record).toMatchObject({ text: 'hi @named', rev: 0, editedAt: null, deletedAt: null, mentions, reactions: [] });
        expect(await store.messages.findById(room.id, appended!.record.id)).toEqual(appended!.record);
        expect((await store.messages.page(room.id, { limit: 1 }))[0]).toEqual(appended!.record);
      });

      test("findById: the room's message, or null for another room's, unknown or malformed ids", async () => {
        const { room, other, send } = await setup();
        const message = await send('here');
        expect(await store.messages.findById(room.id, message.id)).toEqual(message);
        expect(await store.messages.findById(other.id, message.id)).toBeNull();
        expect(await store.messages.findById(room.id, unknownId)).toBeNull();
        expect(await store.messages.findById(room.id, 'nope')).toBeNull();
        expect(await store.messages.findById('nope', message.id)).toBeNull();
      });

      test('of simultaneous changes from one rev exactly one lands, and what it wrote is what is stored', async () => {
        const { author, room, send } = await setup();
        for (let round = 0; round < 5; round += 1) {
          const message = await send(`race ${round}`);
          const reactions = ['👍', '❤️', '🎉', '👀'].map((emoji) => [{ emoji, userId: author.id }]);
          const results = await Promise.all(reactions.map((r) => store.messages.change(room.id, message.id, 0, { reactions: r })));
          const landed = results.filter((r) => r !== null);
          expect(landed).toHaveLength(1);
          expect((await store.messages.findById(room.id, message.id))!.reactions).toEqual(landed[0]!.reactions);
        }
      });

      test("change applies while the rev is the one read, with a rev above it from the room's counter", async () => {
        const { author, mentioned, room, send } = await setup();
        const message = await send('first');
        const editedAt = new Date();
        const mentions = [{ userId: mentioned.id, text: 'Named' }];
        const edited = await store.messages.change(room.id, message.id, 0, { text: 'second @Named', mentions, editedAt });
        expect(edited).toEqual({ ...message, text: 'second @Named', mentions, editedAt, rev: expect.any(Number) });
        expect(edited!.rev).toBeGreaterThan(0);
        expect((await store.rooms.findById(room.id))!.headRev).toBeGreaterThanOrEqual(edited!.rev);
        expect(await store.messages.findById(room.id, message.id)).toEqual(edited);

        const reactions = [{ emoji: '👍', userId: author.id }, { emoji: '🎉', userId: mentioned.id }];
        const reacted = await store.messages.change(room.id, message.id, edited!.rev, { reactions });
        expect(reacted).toEqual({ ...edited, reactions, rev: expect.any(Number) });
        expect(reacted!.rev).toBeGreaterThan(edited!.rev);

        const deletedAt = new Date();
        const deleted = await store.messages.change(room.id, message.id, reacted!.rev, { text: '', mentions: [], reactions: [], deletedAt });
        expect(deleted).toEqual({ ...reacted, text: '', mentions: [], reactions: [], deletedAt, rev: expect.any(Number) });
        expect(deleted!.rev).toBeGreaterThan(reacted!.rev);
        expect(await store.messages.page(room.id, { limit: 5 })).toEqual([deleted]);
        expect(await store.messages.since(room.id, { afterSeq: 0, limit: 5 })).toEqual([deleted]);
        expect((await store.rooms.findById(room.id))!.headRev).toBeGreaterThanOrEqual(deleted!.rev);
        expect((await store.rooms.findById(room.id))!.headSeq).toBe(1); // changes take no seq
      });

      test('a change from a rev that is not current any more writes nothing and returns null; so do unknown ids', async () => {
        const { room, other, send } = await setup();
        const message = await send('mine');
        const edited = await store.messages.change(room.id, message.id, 0, { text: 'edited', editedAt: new Date() });
        expect(await store.messages.change(room.id, message.id, 0, { text: 'stale' })).toBeNull();
        expect(await store.messages.change(room.id, message.id, edited!.rev + 5, { text: 'future' })).toBeNull();
        expect(await store.messages.findById(room.id, message.id)).toEqual(edited);
        expect(await store.messages.change(other.id, message.id, edited!.rev, { text: 'wrong room' })).toBeNull();
        expect(await store.messages.change(room.id, unknownId, 0, { text: 'x' })).toBeNull();
        expect(await store.messages.change(unknownId, message.id, edited!.rev, { text: 'x' })).toBeNull();
        expect(await store.messages.change('nope', 'nope', 0, { text: 'x' })).toBeNull();
        expect(await store.messages.findById(room.id, message.id)).toEqual(edited);
      });

      test('revs grow per room across messages; changedSince: from a rev (inclusive), by rev, limited', async () => {
        const { room, other, send } = await setup();
        const [a, b, c] = [await send('a'), await send('b'), await send('c')];
        await send('never changed');
        const elsewhere = await send('o', other.id);
        await store.messages.change(other.id, elsewhere.id, 0, { text: 'o2' });
        // Changed in the order c, a, c, b.
        const c1 = (await store.messages.change(room.id, c.id, 0, { text: 'c1' }))!;
        const a1 = (await store.messages.change(room.id, a.id, 0, { text: 'a1' }))!;
        const c2 = (await store.messages.change(room.id, c.id, c1.rev, { text: 'c2' }))!;
        const b1 = (await store.messages.change(room.id, b.id, 0, { text: 'b1' }))!;
        expect([c1.rev, a1.rev, c2.rev, b1.rev]).toEqual([...[c1.rev, a1.rev, c2.rev, b1.rev]].sort((x, y) => x - y));
        expect(new Set([c1.rev, a1.rev, c2.rev, b1.rev]).size).toBe(4);
        expect((await store.rooms.findById(room.id))!.headRev).toBe(b1.rev);

        expect(await store.messages.changedSince(room.id, { fromRev: 1, limit: 10 })).toEqual([a1, c2, b1]);
        expect(await store.messages.changedSince(room.id, { fromRev: c2.rev, limit: 10 })).toEqual([c2, b1]);
        expect(await store.messages.changedSince(room.id, { fromRev: a1.rev, limit: 1 })).toEqual([a1]);
        expect(await store.messages.changedSince(room.id, { fromRev: b1.rev + 1, limit: 10 })).toEqual([]);
        expect(await store.messages.changedSince(unknownId, { fromRev: 1, limit: 10 })).toEqual([]);
        expect(await store.messages.changedSince('nope', { fromRev: 1, limit: 10 })).toEqual([]);
      });
    });

    describe('read positions', () => {
      const setup = async () => {
        const [ann, ben, cal] = await Promise.all(['Ann', 'Ben', 'Cal'].map((n) => store.users.findOrCreateByName(n)));
        const [lobby, den] = [await store.rooms.create('lobby'), await store.rooms.create('den')];
        return { ann: ann!.id, ben: ben!.id, cal: cal!.id, lobby: lobby.id, den: den.id };
      };

      test('mark moves the position up, never back; list returns each room of the person', async () => {
        const { ann, ben, lobby, den } = await setup();
        expect(await store.reads.list(ann)).toEqual([]);
        expect(await store.reads.mark(ann, lobby, 5)).toEqual({ roomId: lobby, seq: 5, mentions: [] });
        expect(await store.reads.mark(ann, lobby, 3)).toEqual({ roomId: lobby, seq: 5, mentions: [] });
        expect(await store.reads.mark(ann, lobby, 8)).toEqual({ roomId: lobby, seq: 8, mentions: [] });
        await store.reads.mark(ann, den, 2);
        await store.reads.mark(ben, den, 1);
        const byRoom = <T extends { roomId: string }>(reads: T[]) => [...reads].sort((x, y) => (x.roomId < y.roomId ? -1 : 1));
        expect(byRoom(await store.reads.list(ann))).toEqual(byRoom([{ roomId: lobby, seq: 8, mentions: [] }, { roomId: den, seq: 2, mentions: [] }]));
        expect(await store.reads.list(ben)).toEqual([{ roomId: den, seq: 1, mentions: [] }]);
      });

      test('concurrent first marks make one position', async () => {
        const { ann, lobby } = await setup();
        await Promise.all([1, 2, 3, 4].map((seq) => store.reads.mark(ann, lobby, seq)));
        const reads = await store.reads.list(ann);
        expect(reads).toHaveLength(1);
        expect(reads[0]!.seq).toBeGreaterThanOrEqual(1);
      });

      test('addMention: one call for several people; a person without a position gets one just before the message', async () => {
        const { ann, ben, cal, lobby, den } = await setup();
        await store.reads.mark(ann, lobby, 3);
        await store.reads.mark(cal, lobby, 12); // read past it already
        await store.reads.addMention(lobby, 10, [ann, ben, cal, ben]);
        expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: 3, mentions: [10] }]);
        expect(await store.reads.list(ben)).toEqual([{ roomId: lobby, seq: 9, mentions: [10] }]);
        expect(await store.reads.list(cal)).toEqual([{ roomId: lobby, seq: 12, mentions: [] }]);
        // Ascending whatever the order they came in, each once; other rooms apart.
        await store.reads.addMention(lobby, 7, [ann, ben]);
        await store.reads.addMention(lobby, 10, [ann]);
        await store.reads.addMention(den, 2, [ann]);
        expect((await store.reads.list(ann)).find((r) => r.roomId === lobby)).toEqual({ roomId: lobby, seq: 3, mentions: [7, 10] });
        expect((await store.reads.list(ann)).find((r) => r.roomId === den)).toEqual({ roomId: den, seq: 1, mentions: [2] });
        // Ben's position was made just before 10, so 7 counts as read.
        expect(await store.reads.list(ben)).toEqual([{ roomId: lobby, seq: 9, mentions: [10] }]);
      });

      test('mark forgets the mentions up to the new position', async () => {
        const { ann, lobby } = await setup();
        for (const seq of [4, 6, 9]) await store.reads.addMention(lobby, seq, [ann]);
        expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: 3, mentions: [4, 6, 9] }]);
        expect(await store.reads.mark(ann, lobby, 6)).toEqual({ roomId: lobby, seq: 6, mentions: [9] });
        expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: 6, mentions: [9] }]);
        expect(await store.reads.mark(ann, lobby, 2)).toEqual({ roomId: lobby, seq: 6, mentions: [9] });
        expect(await store.reads.mark(ann, lobby, 9)).toEqual({ roomId: lobby, seq: 9, mentions: [] });
        await store.reads.addMention(lobby, 11, [ann]);
        expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: 9, mentions: [11] }]);
      });

      test(`at most ${LIMITS.mentionsRemembered} unread mentions are remembered per room and person: the newest`, async () => {
        const { ann, ben, lobby } = await setup();
        const limit = LIMITS.mentionsRemembered;
        for (let seq = 1; seq <= limit + 3; seq += 1) await store.reads.addMention(lobby, seq, seq % 2 ? [ann, ben] : [ann]);
        const [read] = await store.reads.list(ann);
        expect(read).toEqual({ roomId: lobby, seq: 0, mentions: Array.from({ length: limit }, (_, i) => i + 4) });
        expect((await store.reads.mark(ann, lobby, 1)).mentions).toEqual(read!.mentions);
        expect((await store.reads.list(ben))[0]!.mentions).toHaveLength(Math.ceil((limit + 3) / 2)); // the others still get theirs
        // Reading frees room for new ones.
        await store.reads.mark(ann, lobby, limit + 3);
        await store.reads.addMention(lobby, limit + 4, [ann]);
        expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: limit + 3, mentions: [limit + 4] }]);
      });

      test('a mark and a mention at the same moment undo neither: the position never falls back, no mention is lost', async () => {
        const { ann, lobby } = await setup();
        await store.reads.mark(ann, lobby, 0);
        const mentioned: number[] = [];
        for (let round = 1; round <= 10; round += 1) {
          // The person reads up to `round` as a message far above it mentions them.
          const [marked] = await Promise.all([store.reads.mark(ann, lobby, round), store.reads.addMention(lobby, 100 + round, [ann])]);
          mentioned.push(100 + round);
          expect(marked.seq).toBe(round);
          expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: round, mentions: mentioned }]);
        }
      });

      test('malformed ids name nothing and throw nothing', async () => {
        const { ann, lobby } = await setup();
        expect(await store.reads.mark('nope', lobby, 3)).toEqual({ roomId: lobby, seq: 3, mentions: [] });
        expect(await store.reads.mark(ann, 'nope', 3)).toEqual({ roomId: 'nope', seq: 3, mentions: [] });
        expect(await store.reads.list('nope')).toEqual([]);
        await store.reads.addMention('nope', 3, [ann]);
        await store.reads.addMention(lobby, 3, ['nope', ann]);
        expect(await store.reads.list(ann)).toEqual([{ roomId: lobby, seq: 2, mentions: [3] }]);
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
