import { z } from 'zod';
import type { ReplicaFigures } from '../shared/cluster';

const count = z.number().int().nonnegative();
const amount = z.number().nonnegative();

/** Figures from another replica are outside input like any other: checked before use. */
export const replicaFigures: z.ZodType<ReplicaFigures> = z.object({
  id: z.string().min(1).max(64),
  instance: z.string().min(1).max(100),
  version: z.string().max(64),
  broker: z.object({ kind: z.string().max(32), connected: z.boolean() }),
  store: z.object({ kind: z.string().max(32), ready: z.boolean() }),
  sockets: count,
  people: count,
  rooms: count,
  broadcasts: z.object({ sent: count, received: count }),
  broadcastRates: z.object({ sentPerSecond: amount, receivedPerSecond: amount }),
  eventLoopDelayMs: amount,
  memoryBytes: count,
  uptimeSeconds: amount,
  sampledAt: count,
  operator: z
    .object({
      brokerTarget: z.string().max(2000),
      nodeVersion: z.string().max(64),
      pid: count,
      heapUsedBytes: count,
    })
    .optional(),
});
