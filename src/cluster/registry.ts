import type { ReplicaFigures } from '../shared/cluster';

/**
 * The replicas this one has heard from recently. A replica that stops sending
 * figures (killed, or cut from the broker) leaves after `timeoutMs`; one that
 * says goodbye leaves at once. Reads filter by age, so nothing stale is ever
 * shown; `sweep` only frees the memory.
 */
export class ReplicaRegistry {
  private readonly replicas = new Map<string, { figures: ReplicaFigures; receivedAt: number }>();

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  update(figures: ReplicaFigures): void {
    this.replicas.set(figures.id, { figures, receivedAt: this.now() });
  }

  remove(id: string): void {
    this.replicas.delete(id);
  }

  /** The live replicas, ordered by instance name (then id) so views stay stable. */
  list(): ReplicaFigures[] {
    const oldest = this.now() - this.timeoutMs;
    return [...this.replicas.values()]
      .filter((entry) => entry.receivedAt >= oldest)
      .map((entry) => entry.figures)
      .sort((a, b) => a.instance.localeCompare(b.instance) || a.id.localeCompare(b.id));
  }

  sweep(): void {
    const oldest = this.now() - this.timeoutMs;
    for (const [id, entry] of this.replicas) if (entry.receivedAt < oldest) this.replicas.delete(id);
  }
}
