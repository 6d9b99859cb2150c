import type { Adapter } from 'socket.io-adapter';
import type { MessageDTO, ServerToClientEvents } from '../shared/protocol';
import { trafficOf } from './traffic';

/** The event that carries a chat message to the people of its room. */
const MESSAGE_EVENT = 'message' satisfies keyof ServerToClientEvents;

/**
 * Times the chat's messages that reach this replica from another one: the adapter hands
 * over every broadcast packet it received from the broker (after giving it to this
 * replica's sockets), and `observe` gets the seconds since the message's `createdAt`,
 * stamped by the sending replica when it stored the message. Nothing for the in-process
 * adapter: no message crosses a broker.
 */
export function observeMessageDelivery(adapter: Adapter, observe: (seconds: number) => void): void {
  const traffic = trafficOf(adapter);
  if (!traffic) return;
  traffic.onBroadcastReceived = (packet) => {
    const createdAt = messageCreatedAt(packet);
    if (createdAt === null) return;
    const seconds = (Date.now() - createdAt) / 1000;
    // The stamp is the sender's clock: a negative time is skew between hosts, not latency.
    if (seconds >= 0) observe(seconds);
  };
}

/** A Socket.IO packet's `data` is `[event, ...args]`; null for anything but a chat message. */
function messageCreatedAt(packet: unknown): number | null {
  const data = (packet as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data[0] !== MESSAGE_EVENT) return null;
  const createdAt = (data[1] as Partial<MessageDTO> | null)?.createdAt;
  const at = typeof createdAt === 'string' ? Date.parse(createdAt) : NaN;
  return Number.isFinite(at) ? at : null;
}
