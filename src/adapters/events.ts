/**
 * What every adapter of this project (Redis, RabbitMQ, NATS) reports about its link to
 * the broker, as events on the adapter instance (`io.of('/').adapter`): the app counts
 * and logs them, and starts the clients' catch-up when the link is back.
 */
export const ADAPTER_EVENTS = {
  /** A message for the other replicas could not be handed to the broker: `(error)`. */
  publishFailed: 'publish-failed',
  /** The link is back and this replica hears the others again, after an outage: `()`. */
  linkRestored: 'link-restored',
} as const;
