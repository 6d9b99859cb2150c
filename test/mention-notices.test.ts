import type { MessageDTO } from '../src/shared/protocol';
import { mentionCandidates } from '../src/services/mentions';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { uniqueId } from './helpers/net';
import { startServer, type TestServer } from './helpers/server';

describe('mentionCandidates', () => {
  test('an @ starts names of one word, two words…, longest first, also without trailing punctuation', () => {
    expect(mentionCandidates('hi @Ana Maria, look')).toEqual([['Ana Maria', 'Ana']]);
    expect(mentionCandidates('thanks @bob.')).toEqual([['bob.', 'bob']]);
    expect(mentionCandidates('@Zoë-')).toEqual([['Zoë-', 'Zoë']]);
    expect(mentionCandidates('@a @b')).toEqual([['a'], ['b']]);
  });

  test('no mention inside a word or an e-mail address, or from a lone @', () => {
    expect(mentionCandidates('mail ann@example.com')).toEqual([]);
    expect(mentionCandidates('@ @@ @!')).toEqual([]);
  });

  test('bounded: names are at most 32 characters, a message looks at 30 @s', () => {
    expect(mentionCandidates(`@${'x'.repeat(40)}`)).toEqual([]);
    expect(mentionCandidates('@a '.repeat(100))).toHaveLength(30);
  });
});

/**
 * Mentions and read positions on one replica: who is mentioned, who is told (also in another
 * room), and the server-kept read positions that make unread and mention counts the same in
 * every tab. Across replicas: test/privacy-cluster.test.ts.
 */
describe('mentions and read positions', () => {
  let app: TestServer;
  const sockets: ChatClient[] = [];
  let roomId: string;

  const person = async (name = uniqueId('P')) => {
    const { cookie, user } = await signIn(app.url, name);
    const socket = await connect(app.url, cookie);
    sockets.push(socket);
    return { ...user, cookie, socket };
  };
  const send = async (socket: ChatClient, text: string, room = roomId): Promise<MessageDTO> =>
    expectOk(await request(socket, 'message:send', { roomId: room, text })).message;

  beforeAll(async () => {
    app = await startServer({ env: { ROOM_RATE_LIMIT: '1000', DM_RATE_LIMIT: '1000' } });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await app.close();
  });
  beforeEach(async () => {
    const creator = await person();
    ({ room: { id: roomId } } = expectOk(await request(creator.socket, 'room:create', { name: uniqueId('room ') })));
  });

  test('@name mentions a person (case aside, longest name first); an address or an unknown name does not', async () => {
    const ann = await person(uniqueId('Ann'));
    const annMaria = await person(`${ann.name} Maria`);
    const bo = await person(uniqueId('Bo'));
    expectOk(await request(ann.socket, 'room:join', { roomId }));
    const message = await send(ann.socket, `@${bo.name.toUpperCase()} and @${annMaria.name}, mail x@${bo.name}.org, not @nobody${uniqueId()}`);
    expect(message.mentions).toEqual([
      { id: bo.id, name: bo.name.toUpperCase() },
      { id: annMaria.id, name: annMaria.name },
    ]);
  });

  test('the mentioned person hears it in another room, and it stays unread until they read it, in every tab', async () => {
    const ann = await person();
    const bo = await person();
    const boSecondTab = await connect(app.url, bo.cookie);
    sockets.push(boSecondTab);
    expectOk(await request(ann.socket, 'room:join', { roomId }));
    const heard = nextEvent(bo.socket, 'mention');
    const heardInSecondTab = nextEvent(boSecondTab, 'mention');
    await send(ann.socket, 'warm-up');
    const message = await send(ann.socket, `look @${bo.name}`);
    const notice = await heard;
    expect(notice).toMatchObject({ roomId, seq: message.seq, messageId: message.id, author: { id: ann.id }, excerpt: `look @${bo.name}` });
    expect((await heardInSecondTab).seq).toBe(message.seq);

    // Counted before the notice went out, and kept by the server: a reload (a new socket) reads it.
    const reloaded = await connect(app.url, bo.cookie);
    sockets.push(reloaded);
    const [position] = expectOk(await request(reloaded, 'read:list', {})).reads.filter((r) => r.roomId === roomId);
    expect(position).toEqual({ roomId, seq: message.seq - 1, mentions: [message.seq] });

    // Read in one tab: every tab hears it, and the mention is gone.
    const updated = nextEvent(boSecondTab, 'read:updated');
    expectOk(await request(bo.socket, 'room:join', { roomId }));
    expect(expectOk(await request(bo.socket, 'read:mark', { roomId, seq: message.seq })).read).toEqual({ roomId, seq: message.seq, mentions: [] });
    expect(await updated).toEqual({ roomId, seq: message.seq, mentions: [] });
    // Never back.
    expect(expectOk(await request(reloaded, 'read:mark', { roomId, seq: 1 })).read.seq).toBe(message.seq);
  });

  test('mentioning yourself, or someone who cannot read a direct conversation, tells nobody', async () => {
    const [ann, bo, eve] = [await person(), await person(), await person()];
    const { room } = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id }));
    expectOk(await request(ann.socket, 'room:join', { roomId: room.id }));
    const eveHeard: unknown[] = [];
    const annHeard: unknown[] = [];
    eve.socket.on('mention', (n) => eveHeard.push(n));
    ann.socket.on('mention', (n) => annHeard.push(n));
    const boHeard = nextEvent(bo.socket, 'mention');
    const message = await send(ann.socket, `@${eve.name} @${ann.name} @${bo.name}`, room.id);
    expect(message.mentions).toEqual([
      { id: ann.id, name: ann.name },
      { id: bo.id, name: bo.name },
    ]);
    expect(await boHeard).toMatchObject({ roomId: room.id, roomName: ann.name });
    // Answered after anything sent to them before.
    expectOk(await request(eve.socket, 'read:list', {}));
    expectOk(await request(ann.socket, 'read:list', {}));
    expect(eveHeard).toEqual([]);
    expect(annHeard).toEqual([]);
    expect(expectOk(await request(eve.socket, 'read:list', {})).reads).toEqual([]);
  });

  test('an edit that adds a mention tells the newly mentioned person only', async () => {
    const [ann, bo, cy] = [await person(), await person(), await person()];
    expectOk(await request(ann.socket, 'room:join', { roomId }));
    const boHeard: unknown[] = [];
    bo.socket.on('mention', (n) => boHeard.push(n));
    const first = nextEvent(bo.socket, 'mention');
    const message = await send(ann.socket, `@${bo.name}`);
    await first;
    const cyHeard = nextEvent(cy.socket, 'mention');
    expectOk(await request(ann.socket, 'message:edit', { roomId, messageId: message.id, text: `@${bo.name} @${cy.name}` }));
    expect(await cyHeard).toMatchObject({ seq: message.seq });
    expectOk(await request(bo.socket, 'read:list', {}));
    expect(boHeard).toHaveLength(1);
  });

  test('read:mark and read:list validate their input', async () => {
    const ann = await person();
    expect(await request(ann.socket, 'read:mark', { roomId, seq: -1 })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    expect(await request(ann.socket, 'read:mark', { roomId: 'aaaaaaaaaaaaaaaaaaaaaaaa', seq: 1 })).toMatchObject({ ok: false, error: { code: 'ROOM_NOT_FOUND' } });
    expect(await request(ann.socket, 'read:list', { all: true })).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
  });
});
