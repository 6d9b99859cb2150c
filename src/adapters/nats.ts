import { debuglog } from 'node:util';
import type { Msg, NatsConnection, NatsError, Subscription } from 'nats';
import { decode, encode } from 'notepack.io';
import { ClusterAdapterWithHeartbeat, type ClusterMessage, type ClusterResponse, type Offset, type ServerId } from 'socket.io-adapter';

// NODE_DEBUG=socket.io-nats shows what crosses the broker.
const debug = debuglog('socket.io-nats');

export interface NatsAdapterOptions {
  /** First token of every subject; servers with the same prefix form one cluster. @default "socket.io" */
  prefix?: string;
  /** Milliseconds between heartbeats when nothing else was published. @default 2000 */
  heartbeatInterval?: number;
  /** Milliseconds without any message after which a server counts as gone (keep it below 5000, the request timeout). @default 4500 */
  heartbeatTimeout?: number;
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
    ...options,
  };
  // Socket.IO calls this with `new`, once per namespace.
  return function (nsp: any) {
    return new NatsAdapter(nsp, connection, opts);
  };
}

/** Subjects are dot-separated tokens: keep a namespace name to one plain token. */
const token = (nsp: string) => nsp.replace(/[^A-Za-z0-9_/-]/g, '_');

/** How long closing waits for the goodbye to reach the server when the connection is down. */
const FLUSH_TIMEOUT_MS = 1000;

class NatsAdapter extends ClusterAdapterWithHeartbeat {
  private readonly messageSubject: string;
  private readonly responseSubjectPrefix: string;
  private readonly subscriptions: Subscription[];
  /** Resolves once the server has the subscriptions. */
  private readonly subscribed: Promise<void>;
  private readonly inflight = new Set<Promise<void>>();
  private closed = false;

  constructor(
    nsp: any,
    private readonly nc: NatsConnection,
    opts: Required<NatsAdapterOptions>,
  ) {
    super(nsp, opts);
    const base = `${opts.prefix}.${token(nsp.name)}`;
    this.messageSubject = `${base}.m`;
    this.responseSubjectPrefix = `${base}.r.`;
    this.subscriptions = [
      nc.subscribe(this.messageSubject, { callback: (error, msg) => this.onDelivery(error, msg, false) }),
      nc.subscribe(this.responseSubjectPrefix + this.uid, { callback: (error, msg) => this.onDelivery(error, msg, true) }),
    ];
    this.subscribed = nc.flush().catch((error: Error) => debug('[%s] flush failed: %s', this.uid, error.message));
  }

  /** Announces this server once its subscriptions are live, so the others' answers are not lost. */
  override async init(): Promise<void> {
    await this.subscribed;
    super.init();
  }

  private onDelivery(error: NatsError | null, msg: Msg, isResponse: boolean) {
    if (error) return debug('[%s] subscription error: %s', this.uid, error.message);
    if (this.closed) return;
    let payload: ClusterMessage | ClusterResponse;
    try {
      payload = decode(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength));
    } catch (decodeError) {
      return debug('[%s] undecodable message: %s', this.uid, (decodeError as Error).message);
    }
    if (isResponse) this.onResponse(payload as ClusterResponse);
    else this.onMessage(payload as ClusterMessage);
  }

  protected override async doPublish(message: ClusterMessage): Promise<Offset> {
    await this.send(this.messageSubject, message);
    return ''; // no connection state recovery
  }

  protected override async doPublishResponse(requesterUid: ServerId, response: ClusterResponse): Promise<void> {
    await this.send(this.responseSubjectPrefix + requesterUid, response);
  }

  private send(subject: string, payload: ClusterMessage | ClusterResponse): Promise<void> {
    const sending = (async () => {
      await this.subscribed;
      // While reconnecting, nats.js buffers this and sends it once connected; once closed, it throws.
      this.nc.publish(subject, encode(payload));
    })();
    this.inflight.add(sending);
    const settle = () => this.inflight.delete(sending);
    sending.then(settle, settle);
    return sending;
  }

  override publish(message: Parameters<ClusterAdapterWithHeartbeat['publish']>[0]): void {
    // After close, a late answer would re-arm the heartbeat timer and keep the process alive.
    if (!this.closed) super.publish(message);
  }

  /** Says goodbye, unsubscribes, and waits (briefly) until the server has both. */
  override async close(): Promise<void> {
    if (this.closed) return;
    super.close();
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
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
