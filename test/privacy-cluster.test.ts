import type { Store } from '../src/store/types';
import { connect, expectOk, nextEvent, request, signIn, type ChatClient } from './helpers/client';
import { BROKERS, brokerEnv, type BrokerName } from './helpers/cluster';
import { uniqueId } from './helpers/net';
import { sharedMemoryStore, startServer, type TestServer } from './helpers/server';

/**
 * Direct conversations, edits, reactions, mentions and read positions across three replicas on
 * each real broker: Ann on replica 0, Bo on replica 1 (and a second tab on replica 0), Eve on
 * replica 2. Bo sees everything live; Eve, who may not read the conversation, receives no
 * event about it at all: every event reaching her is recorded and searched for the
 * conversation's id and texts, after a public message that went out later has reached her.
 */
describe.each(BROKERS)('%s: a direct conversation across replicas', (kind: BrokerName) => {
  let store: Store;
  let replicas: TestServer[];
  const sockets: ChatClient[] = [];

  beforeAll(async () => {
    store = sharedMemoryStore();
    const env = { ...brokerEnv(kind, { prefix: uniqueId('privacy-') }), SESSION_SECRET: 'privacy-cluster-test-secret-0123456789', DM_RATE_LIMIT: '1000' };
    replicas = await Promise.all([0, 1, 2].map(() => startServer({ env, store })));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await Promise.all(replicas.map((r) => r.close()));
    await store.close();
  });

  const person = async (replica: number, name = uniqueId('P')) => {
    const { cookie, user } = await signIn(replicas[replica]!.url, name);
    const socket = await connect(replicas[replica]!.url, cookie);
    sockets.push(socket);
    return { ...user, cookie, socket };
  };

  test('only its two people hear of it, on every replica; a third person on another replica hears nothing', async () => {
    const ann = await person(0);
    const bo = await person(1);
    const boOtherTab = await connect(replicas[0]!.url, bo.cookie);
    sockets.push(boOtherTab);
    const eve = await person(2);
    const eveHeard: [string, unknown][] = [];
    eve.socket.onAny((event: string, payload: unknown) => eveHeard.push([event, payload]));
    const general = expectOk(await request(eve.socket, 'room:list', {})).rooms.find((r) => r.name === 'general')!;
    expectOk(await request(eve.socket, 'room:join', { roomId: general.id }));

    const opened = nextEvent(bo.socket, 'dm:opened');
    const { room } = expectOk(await request(ann.socket, 'dm:open', { userId: bo.id }));
    expect(await opened).toMatchObject({ id: room.id, name: ann.name });
    expectOk(await request(ann.socket, 'room:join', { roomId: room.id }));
    expectOk(await request(bo.socket, 'room:join', { roomId: room.id }));

    const secret = `secret ${uniqueId()}`;
    const live = nextEvent(bo.socket, 'message', (m) => m.roomId === room.id);
    const mentioned = nextEvent(boOtherTab, 'mention', (n) => n.roomId === room.id);
    const headSeen = nextEvent(boOtherTab, 'rooms:heads', (heads) => heads[room.id] !== undefined);
    const { message } = expectOk(await request(ann.socket, 'message:send', { roomId: room.id, text: `${secret} @${bo.name}` }));
    expect((await live).id).toBe(message.id);
    expect(await mentioned).toMatchObject({ seq: message.seq, roomName: ann.name });
    expect((await headSeen)[room.id]).toBe(message.seq);

    const typing = nextEvent(bo.socket, 'typing', (t) => t.roomId === room.id);
    ann.socket.emit('typing', { roomId: room.id, typing: true });
    await typing;

    const edited = nextEvent(bo.socket, 'message:changed', (m) => m.text.startsWith('edited'));
    expectOk(await request(ann.socket, 'message:edit', { roomId: room.id, messageId: message.id, text: `edited ${secret}` }));
    await edited;
    const reacted = nextEvent(ann.socket, 'message:changed', (m) => m.reactions.length === 1);
    const revSeen = nextEvent(ann.socket, 'rooms:revs', (revs) => revs[room.id] !== undefined);
    expectOk(await request(bo.socket, 'message:react', { roomId: room.id, messageId: message.id, emoji: '❤️', on: true }));
    expect((await reacted).reactions[0]).toMatchObject({ emoji: '❤️', count: 1, users: [{ id: bo.id }] });
    expect((await revSeen)[room.id]).toBeGreaterThan(0);
    const readElsewhere = nextEvent(boOtherTab, 'read:updated', (r) => r.roomId === room.id);
    expectOk(await request(bo.socket, 'read:mark', { roomId: room.id, seq: message.seq }));
    expect(await readElsewhere).toEqual({ roomId: room.id, seq: message.seq, mentions: [] });
    const deleted = nextEvent(bo.socket, 'message:changed', (m) => m.deleted);
    expectOk(await request(ann.socket, 'message:delete', { roomId: room.id, messageId: message.id }));
    await deleted;

    // A public message sent now reaches Eve after anything about the conversation could have;
    // its head announcement comes after the conversation's heads were flushed too.
    const control = `control ${uniqueId()}`;
    const controlSeen = nextEvent(eve.socket, 'message', (m) => m.text === control);
    expectOk(await request(ann.socket, 'room:join', { roomId: general.id }));
    const { message: controlMessage } = expectOk(await request(ann.socket, 'message:send', { roomId: general.id, text: control }));
    await controlSeen;
    await nextEvent(eve.socket, 'rooms:heads', (heads) => (heads[general.id] ?? 0) >= controlMessage.seq);

    const leaked = eveHeard.filter(([, payload]) => {
      const text = JSON.stringify(payload);
      return text.includes(room.id) || text.includes(secret) || text.includes(message.id);
    });
    expect(leaked).toEqual([]);
    expect(eveHeard.map(([event]) => event)).toContain('message'); // she does hear what she may read
  });
});
