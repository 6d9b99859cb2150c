import { ChangeSync } from '../../src/shared/changes';
import { RoomSync } from '../../src/shared/timeline';
import type { MessageDTO } from '../../src/shared/protocol';
import { connect, expectOk, request, signIn, type ChatClient } from './client';

export interface SyncedPerson {
  name: string;
  socket: ChatClient;
  /** The room as this person sees it: by seq, each message once. */
  messages(): MessageDTO[];
  /** Sends and resolves with the stored message (the ack). */
  send(text: string): Promise<MessageDTO>;
  /** Resolves once every one of `ids` is shown. */
  until(ids: Iterable<string>, timeoutMs?: number): Promise<void>;
  /** This person's copy of a message (with every edit, delete and reaction applied), if shown. */
  message(id: string): MessageDTO | undefined;
  /** Resolves once the copies of these messages satisfy `condition`. */
  untilShown(condition: (message: (id: string) => MessageDTO | undefined) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** How many `message` events carried an id already received live. */
  liveDuplicates(): number;
  close(): void;
}

/**
 * A person in one room who follows the documented recovery protocol (README, "Delivery
 * guarantees") with the same code as the browser: live messages, head announcements,
 * `resync`, and `message:since` to fill what live delivery missed.
 */
export async function syncedPerson(baseUrl: string, name: string, roomId: string): Promise<SyncedPerson> {
  const socket = await connect(baseUrl, (await signIn(baseUrl, name)).cookie);
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const check of [...waiters]) check();
  };
  const sync = new RoomSync({
    fetchSince: async (room, afterSeq) => expectOk(await request(socket, 'message:since', { roomId: room, afterSeq })),
    onAdded: notify,
  });
  const changes = new ChangeSync({
    fetchChanges: async (room, fromRev) => expectOk(await request(socket, 'message:changes', { roomId: room, fromRev })),
    onChanged: (_room, messages) => {
      sync.timeline(roomId).update(messages);
      notify();
    },
  });
  socket.on('message:changed', (message) => {
    sync.timeline(roomId).update([message]);
    changes.live(message);
    notify();
  });
  socket.on('rooms:revs', (revs) => {
    const rev = revs[roomId];
    if (rev !== undefined) changes.head(roomId, rev);
  });
  const liveIds = new Set<string>();
  let liveDuplicates = 0;
  socket.on('message', (message) => {
    if (liveIds.has(message.id)) liveDuplicates += 1;
    liveIds.add(message.id);
    sync.live(message);
    notify();
  });
  socket.on('rooms:heads', (heads) => {
    const seq = heads[roomId];
    if (seq !== undefined) sync.head(roomId, seq);
  });
  socket.on('resync', () => {
    sync.resyncAll();
    changes.resyncAll();
  });
  const joined = expectOk(await request(socket, 'room:join', { roomId }));
  sync.timeline(roomId).reset(joined.messages);
  changes.track(roomId, joined.room.headRev);

  const timeline = sync.timeline(roomId);
  return {
    name,
    socket,
    messages: () => timeline.sorted(),
    send: async (text) => {
      const { message } = expectOk(await request(socket, 'message:send', { roomId, text }));
      sync.live(message);
      return message;
    },
    until(ids, timeoutMs = 20_000) {
      const wanted = [...ids];
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!wanted.every((id) => timeline.has(id))) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const missing = wanted.filter((id) => !timeline.has(id)).length;
          reject(new Error(`${name} still misses ${missing} of ${wanted.length} messages (has through seq ${timeline.through})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    message: (id) => timeline.sorted().find((m) => m.id === id),
    untilShown(condition, what, timeoutMs = 20_000) {
      const find = (id: string) => timeline.sorted().find((m) => m.id === id);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition(find)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${name} never showed ${what}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    liveDuplicates: () => liveDuplicates,
    close() {
      changes.stop();
      sync.stop();
      socket.close();
    },
  };
}

/** Every list has each message once, strictly by seq, and all lists are the same. */
export function expectSameTimeline(people: SyncedPerson[], expectedIds: Set<string>) {
  const reference = people[0]!.messages();
  for (const person of people) {
    const list = person.messages();
    const seqs = list.map((m) => m.seq);
    expect(new Set(list.map((m) => m.id)).size).toBe(list.length);
    for (let i = 1; i < seqs.length; i += 1) expect(seqs[i]!).toBeGreaterThan(seqs[i - 1]!);
    expect(list.map((m) => m.id)).toEqual(reference.map((m) => m.id));
  }
  const shown = new Set(reference.map((m) => m.id));
  for (const id of expectedIds) expect(shown.has(id)).toBe(true);
}
