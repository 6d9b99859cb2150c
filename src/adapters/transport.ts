import { decode, encode } from 'notepack.io';
import { ClusterAdapterWithHeartbeat, type ClusterMessage, type ClusterResponse, type Offset, type ServerId } from 'socket.io-adapter';

/** The namespace Socket.IO passes to an adapter's constructor. */
export type { Namespace } from 'socket.io';

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
  private readonly inflight = new Set<Promise<void>>();

  /** Announces this server once it can hear the answers (the others reply to the first heartbeat). */
  override async init(): Promise<void> {
    await this.whenReady();
    super.init();
  }

  protected override async doPublish(message: ClusterMessage): Promise<Offset> {
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
    if (isResponse) this.onResponse(payload as ClusterResponse);
    else this.onMessage(payload as ClusterMessage);
  }

  /** Sends the goodbye and waits until everything in flight was handed to the broker client. */
  override async close(): Promise<void> {
    if (this.closed) return;
    super.close();
    this.closed = true;
    await Promise.allSettled([...this.inflight]);
  }

  private send(key: string, payload: ClusterMessage | ClusterResponse): Promise<void> {
    const sending = this.whenReady().then(() => this.transmit(key, encode(payload)));
    this.inflight.add(sending);
    const settle = () => this.inflight.delete(sending);
    sending.then(settle, settle);
    return sending;
  }
}
