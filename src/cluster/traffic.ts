import type { Adapter } from 'socket.io-adapter';

/**
 * Broadcasts an adapter published to the broker and received from other
 * servers. The adapters (src/adapters/) keep these counters as a public
 * `brokerTraffic` field; heartbeats, requests and responses are not counted,
 * so the figures move when the chat itself sends something across.
 */
export interface BrokerTraffic {
  broadcastsSent: number;
  broadcastsReceived: number;
  /**
   * Called with each broadcast packet received from another server (`{ type, data: [event, ...args], nsp }`),
   * right after the adapter handed it to this server's sockets. The adapters know nothing of what the
   * packets mean: whoever sets this (the delivery metric) interprets them.
   */
  onBroadcastReceived?: ((packet: unknown) => void) | undefined;
}

/** The adapter's counters, or null for the in-process adapter (nothing crosses a broker). */
export function trafficOf(adapter: Adapter): BrokerTraffic | null {
  const traffic = (adapter as Adapter & { brokerTraffic?: BrokerTraffic }).brokerTraffic;
  return traffic ?? null;
}
