import { randomUUID } from 'node:crypto';
import type { PresenceChange, PresenceDTO, UserDTO } from '../shared/protocol';
import type { Logger } from '../lib/logger';
import { roomChannel, type ChatIO } from './channels';
import { createRoster } from './roster';

export interface PresenceOptions {
  /** False with the in-process adapter: there are no other replicas. */
  clustered: boolean;
  /** How often this replica says it is alive (and which presence version it is at). */
  heartbeatIntervalMs: number;
  /** A replica silent for this long is gone, and its people with it. */
  heartbeatTimeoutMs: number;
  /** Joins and leaves reach a room's people at most this often, coalesced. @default 250 */
  deltaIntervalMs?: number;
  logger: Logger;
}

export type Presence = ReturnType<typeof createPresence>;

interface Peer {
  /** The last version applied, or -1 while its snapshot is awaited. */
  version: number;
  lastSeen: number;
  lastResendRequest: number;
  rooms: Map<string, Map<string, UserDTO>>;
}

/** Local changes are sent to the other replicas in one message per this interval. */
const PUBLISH_INTERVAL_MS = 50;

/**
 * Who is in which room, cluster-wide, kept on every replica from changes: a replica
 * announces only its own people, as numbered batches of joins and leaves, so a join
 * costs O(1) messages between replicas and O(1) bytes to each person in the room
 * (coalesced deltas), never a full list. Nothing a person asks for waits on another
 * replica: a join answers from this replica's view at once.
 *
 * Failures heal by themselves: a receiver that misses a batch (a broker cut) or hears
 * an unknown replica asks for that replica's snapshot; a replica that stops beating
 * for the heartbeat timeout is dropped with its people.
 */
export function createPresence(io: ChatIO, options: PresenceOptions) {
  const uid = randomUUID();
  const log = options.logger.child({ component: 'presence' });
  const deltaIntervalMs = options.deltaIntervalMs ?? 250;

  /** This replica's people: room → person → how many of their sockets are in it. */
  const local = new Map<string, Map<string, { user: UserDTO; sockets: number }>>();
  const roster = createRoster();
  const peers = new Map<string, Peer>();
  let version = 0;
  let outgoing: PresenceChange[] = [];
  let snapshotRequested = false;
  let closed = false;

  // ---- this replica's sockets ----------------------------------------------------------------

  const announce = (change: PresenceChange) => {
    if (options.clustered) outgoing.push(change);
  };

  const publishChanges = () => {
    if (outgoing.length === 0 || closed) return;
    const changes = outgoing;
    outgoing = [];
    version += 1;
    io.serverSideEmit('presence:changes', { uid, version, from: version - 1, changes });
  };

  const sendSnapshot = () => {
    snapshotRequested = false;
    if (closed) return;
    publishChanges(); // the snapshot then stands at the version the others will have seen
    const snapshot: Record<string, UserDTO[]> = {};
    for (const [roomId, people] of local) snapshot[roomId] = [...people.values()].map((p) => p.user);
    io.serverSideEmit('presence:snapshot', { uid, version, rooms: snapshot });
  };

  const requestResend = (peerUid: string, peer: Peer | undefined) => {
    const now = Date.now();
    if (peer && now - peer.lastResendRequest < options.heartbeatIntervalMs) return;
    if (peer) peer.lastResendRequest = now;
    io.serverSideEmit('presence:resend', peerUid);
  };

  // ---- the other replicas --------------------------------------------------------------------

  const peerFor = (peerUid: string): { peer: Peer; isNew: boolean } => {
    const known = peers.get(peerUid);
    if (known) return { peer: known, isNew: false };
    const peer: Peer = { version: -1, lastSeen: Date.now(), lastResendRequest: 0, rooms: new Map() };
    peers.set(peerUid, peer);
    return { peer, isNew: true };
  };

  const dropPeer = (peerUid: string) => {
    const peer = peers.get(peerUid);
    if (!peer) return;
    peers.delete(peerUid);
    for (const [roomId, people] of peer.rooms) for (const userId of people.keys()) roster.release(roomId, userId, peerUid);
  };

  if (options.clustered) {
    io.on('presence:changes', ({ uid: from, version: next, from: previous, changes }) => {
      if (from === uid || !Array.isArray(changes)) return;
      const { peer } = peerFor(from);
      peer.lastSeen = Date.now();
      // A batch was missed: only the whole snapshot can say what that replica has now.
      if (peer.version !== previous) return requestResend(from, peer);
      for (const { roomId, user, present } of changes) {
        let people = peer.rooms.get(roomId);
        if (present) {
          if (!people) peer.rooms.set(roomId, (people = new Map()));
          people.set(user.id, user);
          roster.hold(roomId, user, from);
        } else {
          people?.delete(user.id);
          if (people?.size === 0) peer.rooms.delete(roomId);
          roster.release(roomId, user.id, from);
        }
      }
      peer.version = next;
    });

    io.on('presence:snapshot', ({ uid: from, version: at, rooms: snapshot }) => {
      if (from === uid || typeof snapshot !== 'object' || snapshot === null) return;
      const { peer } = peerFor(from);
      peer.lastSeen = Date.now();
      const next = new Map<string, Map<string, UserDTO>>();
      for (const [roomId, users] of Object.entries(snapshot)) next.set(roomId, new Map(users.map((u) => [u.id, u])));
      for (const [roomId, people] of peer.rooms) {
        for (const userId of people.keys()) if (!next.get(roomId)?.has(userId)) roster.release(roomId, userId, from);
      }
      for (const [roomId, people] of next) for (const user of people.values()) roster.hold(roomId, user, from);
      peer.rooms = next;
      peer.version = at;
    });

    io.on('presence:heartbeat', ({ uid: from, version: at }) => {
      if (from === uid) return;
      const { peer, isNew } = peerFor(from);
      peer.lastSeen = Date.now();
      if (isNew || peer.version !== at) requestResend(from, isNew ? undefined : peer);
    });

    io.on('presence:resend', (target) => {
      if ((target !== uid && target !== '*') || snapshotRequested) return;
      // Several replicas may ask at once: one snapshot answers them all.
      snapshotRequested = true;
      setTimeout(sendSnapshot, PUBLISH_INTERVAL_MS).unref();
    });

    io.on('presence:goodbye', (from) => {
      if (from !== uid) dropPeer(from);
    });

    io.on('user:updated', (user) => updateUser(user));
  }

  const heartbeat = () => {
    if (!closed) io.serverSideEmit('presence:heartbeat', { uid, version });
  };

  const sweep = () => {
    const deadline = Date.now() - options.heartbeatTimeoutMs;
    for (const [peerUid, peer] of peers) {
      if (peer.lastSeen < deadline) {
        log.info({ replica: peerUid }, 'a replica stopped answering: its people leave presence');
        dropPeer(peerUid);
      }
    }
  };

  /** Sends each room's coalesced joins and leaves to this replica's people there. */
  const flushDeltas = () => {
    const channels = io.of('/').adapter.rooms;
    for (const delta of roster.takeDeltas()) {
      if (channels.has(roomChannel(delta.roomId))) io.local.to(roomChannel(delta.roomId)).emit('presence:delta', delta);
    }
  };

  const updateUser = (user: UserDTO) => {
    roster.updateUser(user);
    for (const people of local.values()) {
      const entry = people.get(user.id);
      if (entry) entry.user = user;
    }
    for (const peer of peers.values()) {
      for (const people of peer.rooms.values()) if (people.has(user.id)) people.set(user.id, user);
    }
  };

  const timers = [setInterval(flushDeltas, deltaIntervalMs)];
  if (options.clustered) {
    timers.push(setInterval(publishChanges, PUBLISH_INTERVAL_MS));
    timers.push(setInterval(heartbeat, options.heartbeatIntervalMs));
    timers.push(setInterval(sweep, Math.min(1000, options.heartbeatIntervalMs)));
  }
  for (const timer of timers) timer.unref();

  return {
    uid,

    /** One of this replica's sockets of `user` entered the room. */
    enter(roomId: string, user: UserDTO) {
      let people = local.get(roomId);
      if (!people) local.set(roomId, (people = new Map()));
      const entry = people.get(user.id);
      if (entry) return void (entry.sockets += 1);
      people.set(user.id, { user, sockets: 1 });
      roster.hold(roomId, user, uid);
      announce({ roomId, user, present: true });
    },

    /** One of this replica's sockets of `user` left the room (or disconnected). */
    leave(roomId: string, user: UserDTO) {
      const people = local.get(roomId);
      const entry = people?.get(user.id);
      if (!people || !entry) return;
      entry.sockets -= 1;
      if (entry.sockets > 0) return;
      people.delete(user.id);
      if (people.size === 0) local.delete(roomId);
      roster.release(roomId, user.id, uid);
      announce({ roomId, user, present: false });
    },

    /** The room as this replica knows it now: the first page of people (`me` first) and the count. */
    snapshot: (roomId: string, me?: UserDTO): PresenceDTO => roster.snapshot(roomId, me),

    /** A person's name or photo changed: update it here and on the other replicas. */
    userUpdated(user: UserDTO) {
      updateUser(user);
      if (options.clustered) io.serverSideEmit('user:updated', user);
    },

    /** Asks every replica for its snapshot (after this replica's broker link came back). */
    resync() {
      if (!options.clustered || closed) return;
      sendSnapshot();
      io.serverSideEmit('presence:resend', '*');
    },

    start() {
      if (!options.clustered) return;
      heartbeat();
      io.serverSideEmit('presence:resend', '*');
    },

    close() {
      if (options.clustered && !closed) {
        publishChanges();
        io.serverSideEmit('presence:goodbye', uid);
      }
      closed = true;
      for (const timer of timers) clearInterval(timer);
    },
  };
}
