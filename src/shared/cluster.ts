/**
 * The cluster view's data (GET /api/cluster), shared by the server and the
 * browser page. Replicas send each other their `ReplicaFigures` over the
 * adapter (serverSideEmit): see src/cluster/.
 */

/** What an operator token shows beyond the counts. */
export interface OperatorDetails {
  /** Where the broker is, without credentials. */
  brokerTarget: string;
  nodeVersion: string;
  pid: number;
  heapUsedBytes: number;
}

export interface ReplicaFigures {
  /** Random per process: two replicas may share an instance name, never an id. */
  id: string;
  instance: string;
  version: string;
  broker: { kind: string; connected: boolean };
  store: { kind: string; ready: boolean };
  sockets: number;
  /** Distinct people among this replica's sockets. */
  people: number;
  /** Chat rooms with at least one socket of this replica in them. */
  rooms: number;
  /** Broadcasts this replica published to the broker and received from the others, since it started. */
  broadcasts: { sent: number; received: number };
  /** The same, per second over the last sampling interval. */
  broadcastRates: { sentPerSecond: number; receivedPerSecond: number };
  /** 99th percentile of the event-loop delay over the last sampling interval. */
  eventLoopDelayMs: number;
  /** Resident set size. */
  memoryBytes: number;
  uptimeSeconds: number;
  /** When the replica took these figures (ms since the epoch, its own clock). */
  sampledAt: number;
  /** Present only for an operator. */
  operator?: OperatorDetails;
}

export interface ClusterView {
  /** `member`: any signed-in person (counts only); `operator`: the operator token (details too). */
  access: 'member' | 'operator';
  /** The id of the replica that answered this request: the viewer's. */
  servedBy: string;
  /** A replica silent for this long leaves the view. */
  timeoutMs: number;
  /** How often each replica sends its figures. */
  intervalMs: number;
  replicas: ReplicaFigures[];
}
