import { randomUUID } from 'node:crypto';
import { decode, encode } from 'notepack.io';
import { ClusterAdapterWithHeartbeat, MessageType, type ClusterMessage, type ClusterResponse, type Offset, type ServerId } from 'socket.io-adapter';
import type { Namespace } from 'socket.io';
import type { BrokerTraffic } from '../cluster/traffic';
import { ADAPTER_EVENTS } from './events';

/** The namespace Socket.IO passes to an adapter's constructor. */
export type { Namespace } from 'socket.io';

/** The options both broker adapters share with `ClusterAdapterWithHeartbeat`. */
export interface ClusterOptions {
  heartbeatInterval: number;
  heartbeatTimeout: number;
  /** Milliseconds a request to the other servers (serverSideEmit with ack, fetchSockets, allRooms) waits. */
  requestsTimeout: number;
}

/**
 * Socket.IO calls an adapter's `init()` since 4.8 only; before, these adapters would never
 * announce themselves. The check runs when an adapter factory is made, so a too-old
 * Socket.IO stops boot with a clear message instead of a silent cluster of one.
 */
export function requireSocketIo48(): void {
  const { version } = require('socket.io/package.json') as { version: string };
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < 4 || (major === 4 && minor < 8)) {
    throw new Error(`these Socket.IO adapters need socket.io >= 4.8 (it calls adapter.init()); found ${version}`);
  }
}

/** Message kinds of our own, beside socket.io-adapter's MessageType (small integers). */
const ALL_ROOMS = 'all-rooms';
const ALL_ROOMS_RESPONSE = 'all-rooms-response';

/** What the base class keeps for itself but these features need. */
interface ClusterInternals {
  nodesMap: Map<string, number>;
  customRequests: Map<string, { timeout: NodeJS.Timeout; responses: unknown[]; missingUids: Set<string> }>;
}

/**
 * The part the RabbitMQ and NATS adapters share: MessagePack encoding,
 * publishing only once the subscription is live, a goodbye that is flushed
 * before closing, and no publishing after close. A transport names where
 * messages and responses go and implements `transmit` and `whenReady`.
 */
export abstract class BrokerTransportAdapter extends ClusterAdapterWithHeartbeat {
  /** Where messages for every server go. */
  protected abstract readonly messageKey: string;
  /** Prefix of where the answers for one server (by its uid) go. */
  protected abstract readonly responseKeyPrefix: string;
  /** Resolves once this server receives what is sent to it (queue bound, subscription flushed). */
  protected abstract whenReady(): Promise<void>;
  /** Hands encoded bytes to the broker client; throws when it cannot. */
  protected abstract transmit(key: string, bytes: Buffer): void;

  /** Whether what the other servers send reaches this one right now (for readiness checks). */
  abstract isOpen(): boolean;

  protected closed = false;
  /** Broadcasts published and received from other servers (the cluster view and metrics read them). */
  readonly brokerTraffic: BrokerTraffic = { broadcastsSent: 0, broadcastsReceived: 0 };
  private readonly inflight = new Set<Promise<void>>();
  private readonly requestsTimeout: number;
  private readonly roomRequests = new Map<
    string,
    { rooms: Set<string>; missing: Set<string>; resolve(rooms: Set<string>): void; timeout: NodeJS.Timeout }
  >();

  constructor(nsp: Namespace, opts: ClusterOptions) {
    super(nsp, opts);
    this.requestsTimeout = opts.requestsTimeout;
  }

  private get internals(): ClusterInternals {
    return this as unknown as ClusterInternals;
  }

  /** Like the base class, but an acknowledged serverSideEmit gives up after `requestsTimeout`. */
  override async serverSideEmit(packet: unknown[]): Promise<void> {
    const ack = packet.at(-1);
    if (typeof ack !== 'function') return super.serverSideEmit(packet);
    const { customRequests } = this.internals;
    const before = new Set(customRequests.keys());
    // The base class registers the request synchronously: the new key is this request.
    const sent = super.serverSideEmit(packet);
    const requestId = [...customRequests.keys()].find((id) => !before.has(id));
    const request = requestId === undefined ? undefined : customRequests.get(requestId);
    if (requestId !== undefined && request) {
      clearTimeout(request.timeout);
      request.timeout = setTimeout(() => {
        if (!customRequests.delete(requestId)) return;
        ack(new Error(`timeout reached: missing ${request.missingUids.size} responses`), request.responses);
      }, this.requestsTimeout);
    }
    return sent;
  }

  override fetchSockets(opts: Parameters<ClusterAdapterWithHeartbeat['fetchSockets']>[0]) {
    return super.fetchSockets({ ...opts, flags: { ...opts.flags, timeout: opts.flags?.timeout ?? this.requestsTimeout } });
  }

  /** Every room of every server (as the official Redis adapter has it). */
  async allRooms(): Promise<Set<string>> {
    const rooms = new Set(this.rooms.keys());
    const others = [...this.internals.nodesMap.keys()];
    if (others.length === 0) return rooms;
    const requestId = randomUUID();
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        if (this.roomRequests.delete(requestId)) reject(new Error('timeout reached while waiting for allRooms response'));
      }, this.requestsTimeout);
      this.roomRequests.set(requestId, { rooms, missing: new Set(others), resolve, timeout });
      this.publish({ type: ALL_ROOMS as never, data: { requestId } } as never);
    });
  }

  override onMessage(message: ClusterMessage, offset?: string): void {
    if ((message.type as unknown) !== ALL_ROOMS) return super.onMessage(message, offset);
    if (message.uid === this.uid || message.nsp !== this.nsp.name) return;
    const { requestId } = (message as unknown as { data: { requestId: string } }).data;
    this.publishResponse(message.uid, { type: ALL_ROOMS_RESPONSE, data: { requestId, rooms: [...this.rooms.keys()] } } as never);
  }

  override onResponse(response: ClusterResponse): void {
    if ((response.type as unknown) !== ALL_ROOMS_RESPONSE) return super.onResponse(response);
    const { requestId, rooms } = (response as unknown as { data: { requestId: string; rooms: string[] } }).data;
    const request = this.roomRequests.get(requestId);
    if (!request) return;
    for (const room of rooms) request.rooms.add(room);
    request.missing.delete(response.uid);
    if (request.missing.size > 0) return;
    clearTimeout(request.timeout);
    this.roomRequests.delete(requestId);
    request.resolve(request.rooms);
  }

  /** Announces this server once it can hear the answers (the others reply to the first heartbeat). */
  override async init(): Promise<void> {
    await this.whenReady();
    super.init();
  }

  protected override async doPublish(message: ClusterMessage): Promise<Offset> {
    if (message.type === MessageType.BROADCAST) this.brokerTraffic.broadcastsSent++;
    await this.send(this.messageKey, message);
    return ''; // no connection state recovery
  }

  protected override async doPublishResponse(requesterUid: ServerId, response: ClusterResponse): Promise<void> {
    await this.send(this.responseKeyPrefix + requesterUid, response);
  }

  override publish(message: Parameters<ClusterAdapterWithHeartbeat['publish']>[0]): void {
    // After close, a late answer would re-arm the heartbeat timer and keep the process alive.
    if (!this.closed) super.publish(message);
  }

  /** Decodes what arrived and hands it to the cluster logic; undecodable bytes are logged and dropped. */
  protected receive(bytes: Buffer, isResponse: boolean, debug: (format: string, ...args: unknown[]) => void) {
    if (this.closed) return;
    let payload: ClusterMessage | ClusterResponse;
    try {
      payload = decode(bytes);
    } catch (error) {
      return debug('[%s] undecodable message: %s', this.uid, (error as Error).message);
    }
    if (isResponse) return this.onResponse(payload as ClusterResponse);
    this.onMessage(payload as ClusterMessage);
    if (payload.type === MessageType.BROADCAST && payload.uid !== this.uid) {
      this.brokerTraffic.broadcastsReceived++;
      this.brokerTraffic.onBroadcastReceived?.(payload.data.packet);
    }
  }

  /** Sends the goodbye and waits until everything in flight was handed to the broker client. */
  override async close(): Promise<void> {
    if (this.closed) return;
    super.close();
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
  }

  private send(key: string, payload: ClusterMessage | ClusterResponse): Promise<void> {
    const sending = this.whenReady().then(() => {
      try {
        this.transmit(key, encode(payload));
      } catch (error) {
        this.emit(ADAPTER_EVENTS.publishFailed, error);
        throw error;
      }
    });
    this.inflight.add(sending);
    const settle = () => this.inflight.delete(sending);
    sending.then(settle, settle);
    return sending;
  }
}
