import type { MessageDTO } from '../src/shared/protocol';
import { createMemoryStore } from '../src/store/memory';
import type { Store } from '../src/store/types';
import { connect, expectOk, nextEvent, request, signIn, type AckOf, type ChatClient } from './helpers/client';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

/**
 * Edits, deletes and reactions on one replica: who may make them, what everyone sees live,
 * and that history and the change catch-up (`message:changes`) show exactly the same.
 */

let app: TestServer;
const sockets: ChatClient[] = [];
let roomId: string;
let ann: ChatClient;
let bo: ChatClient;

async function signedIn(server: TestServer, name = uniqueId('P')) {
  const { cookie, user } = await signIn(server.url, name);
  const socket = await connect(server.url, cookie);
  sockets.push(socket);
  return { ...user, socket };
}

type MessageEvent = 'message:edit' | 'message:delete' | 'message:react';

/**
 * A server of its own (its own limits or store) with one person who posted `text` in
 * general; `run` makes requests about that message.
 */
async function onOwnServer(
  options: Parameters<typeof startServer>[0],
  text: string,
  run: (about: <E extends MessageEvent>(event: E, extra?: object) => Promise<AckOf<E>>) => Promise<void>,
): Promise<void> {
  const server = await startServer(options);
  try {
    const { socket } = await signedIn(server);
    const general = expectOk(await request(socket, 'room:list', {})).rooms[0]!;
    expectOk(await request(socket, 'room:join', { roomId: general.id }));
    const { message } = expectOk(await request(socket, 'message:send', { roomId: general.id, text }));
    await run((event, extra) => request(socket, event, { roomId: general.id, messageId: message.id, ...extra }));
    socket.close();
  } finally {
    await server.close();
  }
}

beforeAll(async () => {
  app = await startServer({ env: { ROOM_RATE_LIMIT: '1000', EDIT_RATE_LIMIT: '1000', REACTION_RATE_LIMIT: '1000' } });
  ann = (await signedIn(app, uniqueId('Ann'))).socket;
  bo = (await signedIn(app, uniqueId('Bo'))).socket;
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await app.close();
});
beforeEach(async () => {
  ({ room: { id: roomId } } = expectOk(await request(ann, 'room:create', { name: uniqueId('room ') })));
  expectOk(await request(ann, 'room:join', { roomId }));
  expectOk(await request(bo, 'room:join', { roomId }));
});

const send = async (socket: ChatClient, text: string) => expectOk(await request(socket, 'message:send', { roomId, text })).message;
const latest = async (socket: ChatClient) => expectOk(await request(socket, 'room:join', { roomId: roomId })).messages;

describe('editing', () => {
  test('the author edits; everyone sees the new text marked edited, with a higher rev, live and in history', async () => {
    const original = await send(ann, 'helo');
    const seen = nextEvent(bo, 'message:changed');
    const { message: edited } = expectOk(await request(ann, 'message:edit', { roomId, messageId: original.id, text: ' hello ' }));
    expect(edited).toMatchObject({ id: original.id, seq: original.seq, text: 'hello', deleted: false });
    expect(edited.rev).toBeGreaterThan(original.rev);
    expect(Date.parse(edited.editedAt!)).not.toBeNaN();
    expect(await seen).toEqual(edited);
    expect((await latest(bo)).find((m) => m.id === original.id)).toEqual(edited);
  });

  test('an edit to the same text changes nothing and tells nobody', async () => {
    const original = await send(ann, 'same');
    const changed: MessageDTO[] = [];
    bo.on('message:changed', (m) => changed.push(m));
    const { message } = expectOk(await request(ann, 'message:edit', { roomId, messageId: original.id, text: 'same' }));
    expect(message).toEqual(original);
    // Delivered after anything the edit would have sent.
    const after = nextEvent(bo, 'message', (m) => m.text === 'after');
    await send(ann, 'after');
    await after;
    expect(changed).toEqual([]);
    bo.off('message:changed');
  });

  test("others' messages, unknown ids, empty and too long texts are refused with their codes", async () => {
    const mine = await send(ann, 'mine');
    const refused = (code: string) => ({ ok: false, error: { code } });
    expect(await request(bo, 'message:edit', { roomId, messageId: mine.id, text: 'yours?' })).toMatchObject(refused('NOT_YOUR_MESSAGE'));
    expect(await request(bo, 'message:delete', { roomId, messageId: mine.id })).toMatchObject(refused('NOT_YOUR_MESSAGE'));
    expect(await request(ann, 'message:edit', { roomId, messageId: 'aaaaaaaaaaaaaaaaaaaaaaaa', text: 'x' })).toMatchObject(refused('MESSAGE_NOT_FOUND'));
    expect(await request(ann, 'message:edit', { roomId, messageId: mine.id, text: '   ' })).toMatchObject(refused('MESSAGE_EMPTY'));
    expect(await request(ann, 'message:edit', { roomId, messageId: mine.id, text: 'x'.repeat(2001) })).toMatchObject(refused('MESSAGE_TOO_LONG'));
    expect(await request(ann, 'message:edit', { roomId, messageId: mine.id })).toMatchObject(refused('INVALID_PAYLOAD'));
    // A message of another room is not found through this one.
    const other = expectOk(await request(ann, 'room:create', { name: uniqueId('other ') })).room;
    expect(await request(ann, 'message:edit', { roomId: other.id, messageId: mine.id, text: 'moved' })).toMatchObject(refused('MESSAGE_NOT_FOUND'));
    const [stored] = await app.store.messages.page(roomId, { limit: 1 });
    expect(stored).toMatchObject({ text: 'mine', rev: 0, editedAt: null });
  });

  test('closes after the edit window', async () => {
    // A store whose messages read as sent 16 minutes ago: the window is 15.
    const memory = createMemoryStore();
    const aged: Store = {
      ...memory,
      messages: {
        ...memory.messages,
        findById: async (room, id) => {
          const message = await memory.messages.findById(room, id);
          return message && { ...message, createdAt: new Date(message.createdAt.getTime() - 16 * 60_000) };
        },
      },
    };
    try {
      await onOwnServer({ store: aged }, 'old news', async (about) => {
        expect(await about('message:edit', { text: 'too late' })).toMatchObject({ ok: false, error: { code: 'EDIT_WINDOW_CLOSED' } });
        expect(await about('message:delete')).toMatchObject({ ok: false, error: { code: 'EDIT_WINDOW_CLOSED' } });
        // Reactions have no window.
        expectOk(await about('message:react', { emoji: '👍', on: true }));
      });
    } finally {
      await memory.close();
    }
  });

  test('MESSAGE_EDIT_MINUTES=0 turns editing and deleting off; reactions still work', async () => {
    await onOwnServer({ env: { MESSAGE_EDIT_MINUTES: '0' } }, 'fixed', async (about) => {
      expect(await about('message:edit', { text: 'no' })).toMatchObject({ ok: false, error: { code: 'EDITING_DISABLED' } });
      expect(await about('message:delete')).toMatchObject({ ok: false, error: { code: 'EDITING_DISABLED' } });
      expectOk(await about('message:react', { emoji: '👍', on: true }));
    });
  });

  test('edits and deletes are rate limited per person', async () => {
    await onOwnServer({ env: { EDIT_RATE_LIMIT: '2' } }, 'v1', async (about) => {
      expectOk(await about('message:edit', { text: 'v2' }));
      expectOk(await about('message:edit', { text: 'v3' }));
      expect(await about('message:delete')).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    });
  });
});

describe('deleting', () => {
  test('leaves a placeholder without text, mentions or reactions, live and in history; a second delete changes nothing', async () => {
    const message = await send(ann, 'oops');
    expectOk(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '😂', on: true }));
    const seen = nextEvent(bo, 'message:changed', (m) => m.deleted);
    const { message: deleted } = expectOk(await request(ann, 'message:delete', { roomId, messageId: message.id }));
    expect(deleted).toMatchObject({ id: message.id, seq: message.seq, deleted: true, text: '', reactions: [], mentions: [] });
    expect(await seen).toEqual(deleted);
    expect((await latest(bo)).find((m) => m.id === message.id)).toEqual(deleted);
    expect(expectOk(await request(ann, 'message:delete', { roomId, messageId: message.id })).message).toEqual(deleted);
    expect(await request(ann, 'message:edit', { roomId, messageId: message.id, text: 'back' })).toMatchObject({ ok: false, error: { code: 'MESSAGE_DELETED' } });
    expect(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '👍', on: true })).toMatchObject({ ok: false, error: { code: 'MESSAGE_DELETED' } });
  });
});

describe('reactions', () => {
  test('toggle per person, with counts and names, live for everyone; setting what is set changes nothing', async () => {
    const message = await send(ann, 'react to me');
    const first = expectOk(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '🎉', on: true })).message;
    expect(first.reactions).toEqual([{ emoji: '🎉', count: 1, users: [expect.objectContaining({ name: expect.stringMatching(/^Bo/) })] }]);
    expect(expectOk(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '🎉', on: true })).message).toEqual(first);
    const seen = nextEvent(bo, 'message:changed', (m) => m.reactions[0]?.count === 2);
    const second = expectOk(await request(ann, 'message:react', { roomId, messageId: message.id, emoji: '🎉', on: true })).message;
    expect(await seen).toEqual(second);
    expect(second.reactions[0]!.users.map((u) => u.name.slice(0, 2))).toEqual(['Bo', 'An']);
    const removed = expectOk(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '🎉', on: false })).message;
    expect(removed.reactions).toEqual([{ emoji: '🎉', count: 1, users: [expect.objectContaining({ name: expect.stringMatching(/^Ann/) })] }]);
    expect(removed.rev).toBeGreaterThan(second.rev);
  });

  test('only the fixed set, and at a bounded rate', async () => {
    const message = await send(ann, 'no custom');
    expect(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '🦄', on: true })).toMatchObject({ ok: false, error: { code: 'INVALID_REACTION' } });
    expect(await request(bo, 'message:react', { roomId, messageId: message.id, emoji: '👍' })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    await onOwnServer({ env: { REACTION_RATE_LIMIT: '3' } }, 'x', async (about) => {
      for (const on of [true, false, true]) expectOk(await about('message:react', { emoji: '👍', on }));
      expect(await about('message:react', { emoji: '👍', on: false })).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    });
  });
});

describe('catching up on changes', () => {
  test('a client that missed edits, deletes and reactions converges with message:changes from its last rev', async () => {
    const [a, b, c] = [await send(ann, 'a'), await send(ann, 'b'), await send(ann, 'c')];
    const before = expectOk(await request(bo, 'room:join', { roomId }));
    const known = before.room.headRev;
    // Bo misses what follows (he is "away": his copy stays as it was).
    expectOk(await request(ann, 'message:edit', { roomId, messageId: a.id, text: 'a2' }));
    expectOk(await request(ann, 'message:delete', { roomId, messageId: b.id }));
    expectOk(await request(ann, 'message:react', { roomId, messageId: c.id, emoji: '👀', on: true }));
    expectOk(await request(ann, 'message:edit', { roomId, messageId: a.id, text: 'a3' }));
    const page = expectOk(await request(bo, 'message:changes', { roomId, fromRev: known + 1 }));
    expect(page.complete).toBe(true);
    expect(page.messages.map((m) => m.id)).toEqual([b.id, c.id, a.id]); // by rev: a's last change is newest
    const revs = page.messages.map((m) => m.rev);
    expect(revs).toEqual([...revs].sort((x, y) => x - y));
    const current = await latest(bo);
    for (const changed of page.messages) expect(current.find((m) => m.id === changed.id)).toEqual(changed);
    const room = expectOk(await request(bo, 'room:join', { roomId })).room;
    expect(room.headRev).toBe(revs.at(-1));
    // Inclusive: asking from the newest rev gives that message again, and paging is bounded.
    expect(expectOk(await request(bo, 'message:changes', { roomId, fromRev: room.headRev })).messages.map((m) => m.id)).toEqual([a.id]);
    const firstPage = expectOk(await request(bo, 'message:changes', { roomId, fromRev: 1, limit: 2 }));
    expect(firstPage).toMatchObject({ complete: false });
    expect(firstPage.messages).toHaveLength(2);
    expect(await request(bo, 'message:changes', { roomId, fromRev: 0 })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  });

  test('rooms:revs announces a room whose messages changed', async () => {
    const message = await send(ann, 'watch');
    const announced = nextEvent(bo, 'rooms:revs', (revs) => revs[roomId] !== undefined);
    const { message: reacted } = expectOk(await request(ann, 'message:react', { roomId, messageId: message.id, emoji: '👍', on: true }));
    expect((await announced)[roomId]).toBe(reacted.rev);
  });
});
