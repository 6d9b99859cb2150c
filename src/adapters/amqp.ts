import type { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { Channel, ChannelModel, ConsumeMessage, RecoveringChannelModel } from 'amqplib';
import { MessageType } from 'socket.io-adapter';
import { ADAPTER_EVENTS } from './events';
import { BrokerTransportAdapter, requireSocketIo48, type Namespace } from './transport';

// NODE_DEBUG=socket.io-amqp shows what crosses the broker.
const debug = debuglog('socket.io-amqp');

export interface AmqpAdapterOptions {
  /** Name of the exchange; servers with the same prefix form one cluster. @default "socket.io" */
  prefix?: string;
  /** Milliseconds between heartbeats when nothing else was published. @default 2000 */
  heartbeatInterval?: number;
  /** Milliseconds without any message after which a server counts as gone (keep it below `requestsTimeout`). @default 4500 */
  heartbeatTimeout?: number;
  /** Milliseconds a request to the other servers (serverSideEmit with ack, fetchSockets, allRooms) waits. @default 5000 */
  requestsTimeout?: number;
  /** Milliseconds between attempts to open the channel again after a failure. @default 1000 */
  reopenDelay?: number;
}

/**
 * An amqplib connection: a plain one (`amqp.connect(url)`), or one that
 * reconnects by itself (`amqp.connect(url, { recovery: ... })`), in which case
 * the adapter opens its channel and queue again after each reconnection.
 */
export type AmqpConnection = ChannelModel | RecoveringChannelModel;

/**
 * A Socket.IO adapter over RabbitMQ: every server publishes to one topic
 * exchange and reads from an exclusive queue of its own, bound to the
 * namespace's broadcast key and to its own response key.
 *
 * @example
 * const connection = await amqp.connect('amqp://localhost', { recovery: true });
 * const io = new Server(httpServer, { adapter: createAdapter(connection, { prefix: 'chat' }) });
 */
export function createAdapter(connection: AmqpConnection, options: AmqpAdapterOptions = {}) {
  const opts: Required<AmqpAdapterOptions> = {
    prefix: 'socket.io',
    heartbeatInterval: 2000,
    heartbeatTimeout: 4500,
    requestsTimeout: 5000,
    reopenDelay: 1000,
    ...options,
  };
  requireSocketIo48();
  // Socket.IO calls this with `new`, once per namespace.
  return function (nsp: Namespace) {
    return new AmqpAdapter(nsp, connection, opts);
  };
}

/** Routing keys are dot-separated words: keep a namespace name to one plain word. */
const word = (nsp: string) => nsp.replace(/[^A-Za-z0-9_/-]/g, '_');

class AmqpAdapter extends BrokerTransportAdapter {
  private channel: Channel | null = null;
  /** The first open; publishing waits for it (later reopens do not: outages fail fast). */
  private readonly opened: Promise<void>;
  protected readonly messageKey: string;
  protected readonly responseKeyPrefix: string;
  private reopenTimer: NodeJS.Timeout | undefined;
  private connectionGone = false;
  private readonly onConnectionGone = () => {
    this.connectionGone = true;
  };

  constructor(
    nsp: Namespace,
    private readonly connection: AmqpConnection,
    private readonly opts: Required<AmqpAdapterOptions>,
  ) {
    super(nsp, opts);
    this.messageKey = `m.${word(nsp.name)}`;
    this.responseKeyPrefix = `r.${word(nsp.name)}.`;
    // A plain connection that closed, or a recovering one that gave up, will not come back.
    (connection as EventEmitter).on('close', this.onConnectionGone).on('reconnect-failed', this.onConnectionGone);
    this.opened = this.open();
  }

  protected whenReady(): Promise<void> {
    return this.opened;
  }

  isOpen(): boolean {
    return !this.closed && this.channel !== null;
  }

  protected transmit(routingKey: string, bytes: Buffer): void {
    // While the broker is away, fail at once: local delivery must not wait for it.
    if (!this.channel) throw new Error('not connected to RabbitMQ');
    this.channel.publish(this.opts.prefix, routingKey, bytes, { appId: this.uid });
  }

  /** Declares the exchange, its own queue and bindings on a new channel, and starts consuming. */
  private async open(): Promise<void> {
    let channel: Channel | undefined;
    let queue = '';
    try {
      // A recovering connection makes this wait until it is connected again.
      channel = await this.connection.createChannel();
      channel.on('error', (error: Error) => debug('[%s] channel error: %s', this.uid, error.message));
      await channel.assertExchange(this.opts.prefix, 'topic', { durable: false, autoDelete: true });
      ({ queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false }));
      await channel.bindQueue(queue, this.opts.prefix, this.messageKey);
      await channel.bindQueue(queue, this.opts.prefix, this.responseKeyPrefix + this.uid);
      await channel.consume(queue, (delivery) => delivery && this.onDelivery(delivery), { noAck: true });
    } catch (error) {
      debug('[%s] could not open the channel: %s', this.uid, (error as Error).message);
      channel?.close().catch(() => {});
      this.scheduleReopen(this.opts.reopenDelay);
      return;
    }
    if (this.closed) {
      await channel.close().catch(() => {});
      return;
    }
    const opened = channel;
    opened.once('close', () => {
      if (this.channel !== opened) return;
      debug('[%s] channel closed, opening a new one', this.uid);
      this.channel = null;
      this.scheduleReopen(0);
    });
    this.channel = opened;
    debug('[%s] listening on queue %s', this.uid, queue);
  }

  private scheduleReopen(delayMs: number) {
    if (this.closed || this.connectionGone || this.reopenTimer) return;
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      void this.open().then(() => {
        if (!this.channel) return;
        // Say hello again: the others dropped this server while it was away.
        this.publish({ type: MessageType.INITIAL_HEARTBEAT });
        this.emit(ADAPTER_EVENTS.linkRestored);
      });
    }, delayMs);
    this.reopenTimer.unref();
  }

  private onDelivery(delivery: ConsumeMessage) {
    // The exchange echoes this server's own broadcasts back to its queue.
    if (delivery.properties.appId === this.uid) return;
    this.receive(delivery.content, delivery.fields.routingKey !== this.messageKey, debug);
  }

  /** Says goodbye, waits until that is written, then closes the channel (which deletes the queue). */
  override async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.reopenTimer);
    (this.connection as EventEmitter).off('close', this.onConnectionGone).off('reconnect-failed', this.onConnectionGone);
    await super.close();
    const channel = this.channel;
    this.channel = null;
    await channel?.close().catch(() => {});
  }
}
