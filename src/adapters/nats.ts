import { debuglog } from 'node:util';
import { Events, type Msg, type NatsConnection, type NatsError, type Subscription } from 'nats';
import { ADAPTER_EVENTS } from './events';
import { BrokerTransportAdapter, requireSocketIo48, type Namespace } from './transport';

// NODE_DEBUG=socket.io-nats shows what crosses the broker.
const debug = debuglog('socket.io-nats');

export interface NatsAdapterOptions {
  /** First token of every subject; servers with the same prefix form one cluster. @default "socket.io" */
  prefix?: string;
  /** Milliseconds between heartbeats when nothing else was published. @default 2000 */
  heartbeatInterval?: number;
  /** Milliseconds without any message after which a server counts as gone (keep it below `requestsTimeout`). @default 4500 */
  heartbeatTimeout?: number;
  /** Milliseconds a request to the other servers (serverSideEmit with ack, fetchSockets, allRooms) waits. @default 5000 */
  requestsTimeout?: number;
}

/**
 * A Socket.IO adapter over NATS core subjects: `<prefix>.<namespace>.m` for
 * messages to every server and `<prefix>.<namespace>.r.<server id>` for the
 * answers to one server. nats.js reconnects by itself and keeps the
 * subscriptions, so the adapter has nothing to redo after an outage.
 *
 * @example
 * const nc = await connect({ servers: 'nats://localhost:4222', maxReconnectAttempts: -1 });
 * const io = new Server(httpServer, { adapter: createAdapter(nc, { prefix: 'chat' }) });
 */
export function createAdapter(connection: NatsConnection, options: NatsAdapterOptions = {}) {
  const opts: Required<NatsAdapterOptions> = {
    prefix: 'socket.io',
    heartbeatInterval: 2000,
    heartbeatTimeout: 4500,
    requestsTimeout: 5000,
    ...options,
  };
  requireSocketIo48();
  // Socket.IO calls this with `new`, once per namespace.
  return function (nsp: Namespace) {
    return new NatsAdapter(nsp, connection, opts);
  };
}

/** Subjects are dot-separated tokens: keep a namespace name to one plain token. */
const token = (nsp: string) => nsp.replace(/[^A-Za-z0-9_/-]/g, '_');

/** How long closing waits for the goodbye to reach the server when the connection is down. */
const FLUSH_TIMEOUT_MS = 1000;

class NatsAdapter extends BrokerTransportAdapter {
  protected readonly messageKey: string;
  protected readonly responseKeyPrefix: string;
  private readonly subscriptions: Subscription[];
  /** Resolves once the server has the subscriptions. */
  private readonly subscribed: Promise<void>;

  constructor(
    nsp: Namespace,
    private readonly nc: NatsConnection,
    opts: Required<NatsAdapterOptions>,
  ) {
    super(nsp, opts);
    const base = `${opts.prefix}.${token(nsp.name)}`;
    this.messageKey = `${base}.m`;
    this.responseKeyPrefix = `${base}.r.`;
    this.subscriptions = [
      nc.subscribe(this.messageKey, { callback: (error, msg) => this.onDelivery(error, msg, false) }),
      nc.subscribe(this.responseKeyPrefix + this.uid, { callback: (error, msg) => this.onDelivery(error, msg, true) }),
    ];
    this.subscribed = nc.flush().catch((error: Error) => debug('[%s] flush failed: %s', this.uid, error.message));
    void this.watchReconnections();
  }

  /** nats.js resubscribes after a reconnection; once the server has the subscriptions again, say so. */
  private async watchReconnections() {
    for await (const status of this.nc.status()) {
      if (this.closed) return;
      if (status.type !== Events.Reconnect) continue;
      await this.nc.flush().catch(() => {});
      if (!this.closed) this.emit(ADAPTER_EVENTS.linkRestored);
    }
  }

  protected whenReady(): Promise<void> {
    return this.subscribed;
  }

  isOpen(): boolean {
    // nats.js keeps the subscriptions across reconnections; the broker wrapper tracks the link itself.
    return !this.closed && !this.nc.isClosed();
  }

  protected transmit(subject: string, bytes: Buffer): void {
    // While reconnecting, nats.js buffers this and sends it once connected; once closed, it throws.
    this.nc.publish(subject, bytes);
  }

  private onDelivery(error: NatsError | null, msg: Msg, isResponse: boolean) {
    if (error) return debug('[%s] subscription error: %s', this.uid, error.message);
    this.receive(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), isResponse, debug);
  }

  /** Says goodbye, unsubscribes, and waits (briefly) until the server has both. */
  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    if (this.nc.isClosed()) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.nc.flush().catch(() => {}),
      new Promise((resolve) => (timer = setTimeout(resolve, FLUSH_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
  }
}
