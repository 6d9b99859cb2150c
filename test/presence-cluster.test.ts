import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { applyPresenceDelta } from '../src/shared/presence';
import { LIMITS, type Ack, type JoinedRoom, type PresenceDelta, type PresenceDTO } from '../src/shared/protocol';
import type { Store } from '../src/store/types';
import { startAppProcess, type AppProcess } from './helpers/app-process';
import { connect, expectOk, request, signIn, type ChatClient } from './helpers/client';
import { BROKERS, brokerEnv, waitFor, type BrokerName } from './helpers/cluster';
import { uniqueId } from './helpers/net';
import { sharedMemoryStore, startServer, type TestServer } from './helpers/server';
import { pool } from './helpers/pool';

/**
 * Presence as people see it when the chat runs on several replicas (README, "Client protocol":
 * a `room:join` ack carries a snapshot, then coalesced `presence:delta` events). Every assertion
 * is on a person's view: the join's snapshot with every later delta applied, exactly as the
 * browser client does it (src/shared/presence.ts), compared with who really is in the room.
 *
 * Three in-process replicas per broker on one memory store (sessions shared), a fresh BROKER_PREFIX per test;
 * then the built app (dist/, `npm run build`) alone with a 5,000-person room.
 */

/** Presence heartbeats; the idle test watches for three intervals. */
const HEARTBEAT = { intervalMs: 500, timeoutMs: 3000 };

/** A room as one person sees it from the moment their `room:join` was answered. */
interface View {
  readonly current: PresenceDTO;
  /** Deltas of this room applied to the view, in order of arrival. */
  readonly deltas: PresenceDelta[];
  /** Deltas of any other room that reached this socket (there should be none). */
  readonly foreign: PresenceDelta[];
  names(): string[];
  until(condition: (presence: PresenceDTO) => boolean, what: string, timeoutMs?: number): Promise<PresenceDTO>;
}

/**
 * Joins `roomId` and follows its presence. The delta listener is in place before the join is
 * sent, and the view starts from the ack (delivered synchronously, in order with the events):
 * a delta sent before the ack is already part of its snapshot, every delta after it is applied.
 * Unlike a listener added after `await`, none can slip between the two.
 */
function joinAndWatch(socket: ChatClient, roomId: string): Promise<{ view: View; joined: JoinedRoom }> {
  let current: PresenceDTO | null = null;
  const deltas: PresenceDelta[] = [];
  const foreign: PresenceDelta[] = [];
  const waiters = new Set<() => void>();
  socket.on('presence:delta', (delta) => {
    if (current === null) return;
    if (delta.roomId !== roomId) return void foreign.push(delta);
    deltas.push(delta);
    current = applyPresenceDelta(current, delta);
    for (const check of [...waiters]) check();
  });
  const view: View = {
    get current() {
      return current!;
    },
    deltas,
    foreign,
    names: () => current!.users.map((u) => u.name).sort(),
    until(condition, what, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(current!)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(current!);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`presence never showed ${what}; last: ${JSON.stringify(current)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
  return new Promise((resolve, reject) => {
    const timed = socket.timeout(15_000) as unknown as {
      emit(event: 'room:join', payload: { roomId: string }, ack: (error: Error | null, res: Ack<JoinedRoom>) => void): void;
    };
    timed.emit('room:join', { roomId }, (error, res) => {
      if (error) return reject(error);
      if (!res.ok) return reject(new Error(`room:join refused: ${res.error.code} ${res.error.message}`));
      current = res.presence;
      resolve({ view, joined: res });
    });
  });
}

/**
 * One memory store for all replicas, sessions included: the memory store makes a session store per
 * server, where MongoDB (production) shares one, so a cookie from one replica opens sockets on all.
 */
const sortedNames = (presence: PresenceDTO) => presence.users.map((u) => u.name).sort();

/** The view lists exactly these people (each once) and counts them. */
const shows = (names: Iterable<string>) => {
  const wanted = [...names].sort();
  return (p: PresenceDTO) => p.count === wanted.length && JSON.stringify(sortedNames(p)) === JSON.stringify(wanted);
};


describe.each(BROKERS)('%s: presence across three replicas', (kind: BrokerName) => {
  let replicas: TestServer[] = [];
  let store: Store;
  const open: ChatClient[] = [];
  let general: string;

  beforeEach(async () => {
    store = sharedMemoryStore();
    const env = {
      ...brokerEnv(kind, { prefix: uniqueId('presence-cluster-'), heartbeat: HEARTBEAT }),
      SESSION_SECRET: 'presence-cluster-test-secret-0123456789',
      ROOM_RATE_LIMIT: '1000',
    };
    replicas = await Promise.all([0, 1, 2].map(() => startServer({ env, store })));
    await waitFor(async () => {
      const counts = await Promise.all(replicas.map((r) => r.server.io.of('/').adapter.serverCount()));
      return counts.every((c) => c === 3);
    }, `3 ${kind} replicas to see each other`);
    const host = await person(0, uniqueId('Host'));
    general = expectOk(await request(host, 'room:list')).rooms.find((r) => r.name === 'general')!.id;
    host.close();
  });

  afterEach(async () => {
    for (const socket of open.splice(0)) socket.close();
    await Promise.all(replicas.map((r) => r.close()));
    replicas = [];
    await store.close();
  });

  /** A person signed in and connected to replica `r` (0, 1, 2), in no room yet. */
  async function person(r: number, name: string, cookie?: string): Promise<ChatClient> {
    const url = replicas[r]!.url;
    const socket = await connect(url, cookie ?? (await signIn(url, name)).cookie);
    open.push(socket);
    return socket;
  }

  async function createRoom(r: number): Promise<string> {
    const host = await person(r, uniqueId('Host'));
    const { room } = expectOk(await request(host, 'room:create', { name: uniqueId('room ') }));
    host.close();
    return room.id;
  }

  /** Resolves once replica `r` has handled the disconnect of this client's socket. */
  function serverSideGone(r: number, client: ChatClient): Promise<void> {
    const serverSocket = replicas[r]!.server.io.of('/').sockets.get(client.id!);
    if (!serverSocket) return Promise.resolve();
    return new Promise((resolve) => serverSocket.once('disconnect', () => resolve()));
  }

  /** One watcher per replica in `roomId`, named W<replica>-<tag>. */
  async function watchers(roomId: string, tag: string) {
    const list: { name: string; socket: ChatClient; view: View }[] = [];
    for (const r of [0, 1, 2]) {
      const name = uniqueId(`W${r}-${tag}-`);
      const socket = await person(r, name);
      list.push({ name, socket, view: (await joinAndWatch(socket, roomId)).view });
    }
    const everyone = list.map((w) => w.name);
    await Promise.all(list.map((w) => w.view.until(shows(everyone), `the ${tag} watchers`)));
    return list;
  }

  /**
   * A new person joins `roomId` on replica `r`; resolves with their name once every watcher got the
   * delta naming them. Each replica sends all its pending changes together, and hears each other
   * replica's changes in order, so by then everything replica `r` did before has reached them all.
   */
  async function arrive(r: number, roomId: string, room: { view: View }[]): Promise<string> {
    const name = uniqueId(`Marker${r}-`);
    const socket = await person(r, name);
    const seen = room.map((w) => w.view.until(() => w.view.deltas.at(-1)?.joined.some((u) => u.name === name) ?? false, name));
    expectOk(await request(socket, 'room:join', { roomId }));
    await Promise.all(seen);
    return name;
  }

  test('one person with tabs on two replicas stays present for everyone until the last tab closes', async () => {
    const room = await watchers(general, 'tabs');
    const names = room.map((w) => w.name);

    // Two tabs of one browser: one sign-in, one cookie, connected to replicas 0 and 1.
    const carol = uniqueId('Carol');
    const { cookie } = await signIn(replicas[0]!.url, carol);
    const tab1 = await person(0, carol, cookie);
    const tab2 = await person(1, carol, cookie);
    const first = expectOk(await request(tab1, 'room:join', { roomId: general }));
    expect(first.presence.users[0]!.name).toBe(carol);
    await Promise.all(room.map((w) => w.view.until(shows([...names, carol]), `${carol} on every replica`)));
    // The second tab is the same person: counted once, in that tab's own view too.
    const second = expectOk(await request(tab2, 'room:join', { roomId: general }));
    expect(second.presence.count).toBe(4);
    expect(sortedNames(second.presence)).toEqual([...names, carol].sort());
    const carolId = second.presence.users[0]!.id;
    // Changes from one replica reach the others in order: once every watcher sees someone who joined
    // on replica 1 after the second tab, every replica knows that replica 1 has Carol too.
    const marker1 = await arrive(1, general, room);
    const seenBefore = room.map((w) => w.view.deltas.length);

    // Close the tab on replica 0. Once that replica has handled it, a marker joins there: when each
    // watcher sees the marker, its replica has also processed whatever the closed tab caused.
    const gone = serverSideGone(0, tab1);
    tab1.close();
    await gone;
    const marker0 = await arrive(0, general, room);
    const everyone = [...names, carol, marker1, marker0];
    for (const [i, w] of room.entries()) {
      expect(w.view.current.count).toBe(everyone.length);
      expect(w.view.names()).toEqual([...everyone].sort());
      // Not even a flicker: no delta since then told anyone that Carol left.
      for (const delta of w.view.deltas.slice(seenBefore[i])) expect(delta.left).not.toContain(carolId);
    }

    // The last tab closes: Carol leaves every replica's view.
    tab2.close();
    await Promise.all(room.map((w) => w.view.until(shows(everyone.filter((n) => n !== carol)), `${carol} gone`)));
    for (const w of room) expect(w.view.foreign).toEqual([]);
  });

  test('a person who switches rooms on one replica leaves the old room and enters the new one on all of them', async () => {
    const other = await createRoom(2);
    const inGeneral = await watchers(general, 'general');
    const inOther = await watchers(other, 'other');

    const dave = uniqueId('Dave');
    const daveSocket = await person(0, dave);
    expectOk(await request(daveSocket, 'room:join', { roomId: general }));
    const generalNames = inGeneral.map((w) => w.name);
    const otherNames = inOther.map((w) => w.name);
    await Promise.all(inGeneral.map((w) => w.view.until(shows([...generalNames, dave]), `${dave} in general`)));
    const daveId = inGeneral[0]!.view.current.users.find((u) => u.name === dave)!.id;

    const switched = expectOk(await request(daveSocket, 'room:join', { roomId: other }));
    // Dave's own view of the new room: everyone there (replica 0 already knows the others) and him first.
    expect(switched.presence.users[0]!.name).toBe(dave);
    expect(shows([...otherNames, dave])(switched.presence)).toBe(true);

    await Promise.all([
      ...inGeneral.map((w) => w.view.until(shows(generalNames), `${dave} gone from general`)),
      ...inOther.map((w) => w.view.until(shows([...otherNames, dave]), `${dave} in the other room`)),
    ]);
    for (const w of [...inGeneral, ...inOther]) expect(w.view.foreign).toEqual([]); // each room's deltas stay in it
    for (const w of inOther) for (const delta of w.view.deltas) expect(delta.left).not.toContain(daveId);
  });

  test('after a burst of joins and leaves across replicas every view equals the room, in a few deltas', async () => {
    const elsewhere = await createRoom(1);
    const room = await watchers(general, 'burst');
    // 10 people already in the room, and 20 more connected but in no room yet, spread over the replicas.
    const stayers = room.map((w) => w.name);
    const leaving = Array.from({ length: 10 }, (_, i) => ({ name: uniqueId(`Old${i}-`), r: i % 3 }));
    const leavingSockets = await Promise.all(leaving.map((p) => person(p.r, p.name)));
    for (const socket of leavingSockets) expectOk(await request(socket, 'room:join', { roomId: general }));
    await Promise.all(room.map((w) => w.view.until(shows([...stayers, ...leaving.map((p) => p.name)]), 'the old crowd')));
    const arriving = Array.from({ length: 20 }, (_, i) => ({ name: uniqueId(`New${i}-`), r: i % 3 }));
    const arrivingSockets = await Promise.all(arriving.map((p) => person(p.r, p.name)));
    const before = room.map((w) => w.view.deltas.length);

    // The burst, all at once: 5 close their tab, 5 switch to another room, 20 join. 30 changes.
    const CHANGES = 30;
    await Promise.all([
      ...leavingSockets.slice(0, 5).map(async (socket) => socket.close()),
      ...leavingSockets.slice(5).map(async (socket) => expectOk(await request(socket, 'room:join', { roomId: elsewhere }))),
      ...arrivingSockets.map(async (socket) => expectOk(await request(socket, 'room:join', { roomId: general }))),
    ]);
    const truth = [...stayers, ...arriving.map((p) => p.name)];
    await Promise.all(room.map((w) => w.view.until(shows(truth), 'the room after the burst')));

    for (const [i, w] of room.entries()) {
      const ids = w.view.current.users.map((u) => u.id);
      expect(new Set(ids).size).toBe(ids.length);
      const received = w.view.deltas.length - before[i]!;
      // Coalesced: far fewer events than changes, whichever replica the watcher is on.
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThanOrEqual(CHANGES / 2);
      expect(w.view.foreign).toEqual([]);
    }
    // Someone joining now on any replica is shown the same room (and themselves first).
    for (const r of [0, 1, 2]) {
      const late = uniqueId(`Late${r}-`);
      const socket = await person(r, late);
      const snapshot = expectOk(await request(socket, 'room:join', { roomId: general })).presence;
      expect(snapshot.users[0]!.name).toBe(late);
      expect(shows([...truth, late])(snapshot)).toBe(true);
      // Gone again everywhere before the next one: each watcher is told that this person left.
      const lateId = snapshot.users[0]!.id;
      const told = room.map((w) => w.view.until(() => w.view.deltas.some((d) => d.left.includes(lateId)), `${late} leaving`));
      socket.close();
      await Promise.all(told);
      for (const w of room) expect(shows(truth)(w.view.current)).toBe(true);
    }
  });

  test('an idle cluster sends no presence traffic', async () => {
    const room = await watchers(general, 'idle');
    const others = await Promise.all([0, 1, 2, 0, 1, 2].map((r, i) => person(r, uniqueId(`Idle${i}-`))));
    for (const socket of others) expectOk(await request(socket, 'room:join', { roomId: general }));
    await Promise.all(room.map((w) => w.view.until((p) => p.count === 9, 'the idle crowd')));

    // Settled: a last join, and every watcher gets the delta naming it: nothing older is still on its way.
    const marker = await arrive(1, general, room);
    // Now nobody joins or leaves for three heartbeat intervals.
    const deltasBefore = room.map((w) => w.view.deltas.length);
    const traffic = replicas.map(() => ({ changes: 0, snapshots: 0, resends: 0, heartbeats: new Map<string, number>() }));
    const listeners = replicas.map((replica, i) => {
      const io = replica.server.io as unknown as { on(e: string, l: (...a: any[]) => void): void; off(e: string, l: (...a: any[]) => void): void };
      const t = traffic[i]!;
      const own = {
        'presence:changes': () => (t.changes += 1),
        'presence:snapshot': () => (t.snapshots += 1),
        'presence:resend': () => (t.resends += 1),
        'presence:heartbeat': ({ uid }: { uid: string }) => t.heartbeats.set(uid, (t.heartbeats.get(uid) ?? 0) + 1),
      };
      for (const [event, listener] of Object.entries(own)) io.on(event, listener);
      return () => {
        for (const [event, listener] of Object.entries(own)) io.off(event, listener);
      };
    });
    await sleep(3 * HEARTBEAT.intervalMs); // the window itself is what is measured
    for (const stop of listeners) stop();

    for (const [i, w] of room.entries()) expect(w.view.deltas.length - deltasBefore[i]!).toBe(0);
    for (const t of traffic) {
      expect({ changes: t.changes, snapshots: t.snapshots, resends: t.resends }).toEqual({ changes: 0, snapshots: 0, resends: 0 });
      // The replicas were alive and talking all along: each heard the other two beat.
      expect(t.heartbeats.size).toBe(2);
      for (const beats of t.heartbeats.values()) expect(beats).toBeGreaterThanOrEqual(2);
    }

    // And the watchers were listening: the next change reaches every one of them.
    await arrive(2, general, room);
    for (const w of room) expect(w.view.current.count).toBe(11);
    expect(sortedNames(room[0]!.view.current)).toContain(marker);
  });
});

describe('a 5,000-person room on one replica', () => {
  const PEOPLE = 5000;
  const SAMPLE_EVERY = 100;
  let app: AppProcess;
  let volume: string;
  const open: ChatClient[] = [];

  // The built app in a process of its own (as bench/chat-path.ts runs it): the 5,000 clients get
  // this process, the server the other core. `npm test` builds dist/ first.
  beforeAll(async () => {
    volume = await mkdtemp(path.join(tmpdir(), 'chat-uploads-'));
    app = await startAppProcess({
      LOG_LEVEL: 'warn',
      STORAGE_VOLUME: volume,
      // Every simulated person signs in and connects from 127.0.0.1.
      SIGNIN_RATE_LIMIT: '100000',
      MAX_SOCKETS_PER_ADDRESS: '100000',
      ROOM_RATE_LIMIT: '1000',
    });
  });
  afterAll(async () => {
    for (const socket of open.splice(0)) socket.close();
    await app?.stop();
    if (volume) await rm(volume, { recursive: true, force: true });
  });

  const person = async (name: string) => {
    const socket = await connect(app.url, (await signIn(app.url, name)).cookie);
    open.push(socket);
    return socket;
  };

  test('joins answer with a page and the count, and one more join costs each member a small delta', async () => {
    const host = await person(uniqueId('Host'));
    const { room } = expectOk(await request(host, 'room:create', { name: uniqueId('big ') }));
    const crowd = await pool(PEOPLE, 50, (i) => person(uniqueId(`p${i}-`)));

    // A sample of members follows the room from their own join on; the rest just join.
    const sample: View[] = [];
    await pool(PEOPLE, 100, async (i) => {
      if (i % SAMPLE_EVERY === 0) sample.push((await joinAndWatch(crowd[i]!, room.id)).view);
      else expectOk(await request(crowd[i]!, 'room:join', { roomId: room.id }));
    });
    await Promise.all(sample.map((v) => v.until((p) => p.count === PEOPLE, `all ${PEOPLE}`, 30_000)));
    for (const view of sample) {
      expect(view.current.users.length).toBeLessThanOrEqual(LIMITS.presencePageSize);
      // A few deltas per second while 5,000 joined, never one per join, never more than a page each.
      expect(view.deltas.length).toBeLessThan(PEOPLE / 10);
      for (const delta of view.deltas) expect(delta.joined.length).toBeLessThanOrEqual(LIMITS.presencePageSize);
    }

    // A newcomer's join: the count of everyone with them, at most a page of names, them first.
    const newcomerName = uniqueId('Newcomer');
    const newcomer = await person(newcomerName);
    const { presence } = expectOk(await request(newcomer, 'room:join', { roomId: room.id }));
    expect(presence.count).toBe(PEOPLE + 1);
    expect(presence.users.length).toBeLessThanOrEqual(LIMITS.presencePageSize);
    expect(presence.users[0]!.name).toBe(newcomerName);
    expect(JSON.stringify(presence).length).toBeLessThan(LIMITS.presencePageSize * 200);
    await Promise.all(sample.map((v) => v.until((p) => p.count === PEOPLE + 1, 'the newcomer')));

    // One more join: each sampled member gets one small delta naming just that person.
    const lastName = uniqueId('Last');
    const last = await person(lastName);
    const mark = sample.map((v) => v.deltas.length);
    expectOk(await request(last, 'room:join', { roomId: room.id }));
    await Promise.all(sample.map((v) => v.until((p) => p.count === PEOPLE + 2, 'the last joiner')));
    for (const [i, view] of sample.entries()) {
      const after = view.deltas.slice(mark[i]);
      expect(after).toHaveLength(1);
      expect(after[0]).toEqual({ roomId: room.id, joined: [expect.objectContaining({ name: lastName })], left: [], count: PEOPLE + 2 });
      expect(Buffer.byteLength(JSON.stringify(after[0]))).toBeLessThan(1024);
    }
  }, 180_000);
});
