import { ReplicaRegistry } from '../src/cluster/registry';
import type { ReplicaFigures } from '../src/shared/cluster';

const figures = (id: string, instance: string): ReplicaFigures => ({
  id,
  instance,
  version: '1.0.0',
  broker: { kind: 'nats', connected: true },
  store: { kind: 'memory', ready: true },
  sockets: 0,
  people: 0,
  rooms: 0,
  broadcasts: { sent: 0, received: 0 },
  broadcastRates: { sentPerSecond: 0, receivedPerSecond: 0 },
  eventLoopDelayMs: 0,
  memoryBytes: 0,
  uptimeSeconds: 0,
  sampledAt: 0,
});

test('a replica silent for longer than the timeout leaves the list; one that speaks again returns', () => {
  let now = 0;
  const registry = new ReplicaRegistry(4500, () => now);
  registry.update(figures('b', 'replica-b'));
  registry.update(figures('a', 'replica-a'));
  expect(registry.list().map((r) => r.instance)).toEqual(['replica-a', 'replica-b']);

  now = 3000;
  registry.update(figures('a', 'replica-a'));
  now = 4500;
  expect(registry.list().map((r) => r.id)).toEqual(['a', 'b']); // exactly at the timeout: still there
  now = 4501;
  expect(registry.list().map((r) => r.id)).toEqual(['a']);
  registry.sweep();
  registry.update(figures('b', 'replica-b'));
  expect(registry.list().map((r) => r.id)).toEqual(['a', 'b']);
});

test('a goodbye removes a replica at once', () => {
  const registry = new ReplicaRegistry(4500, () => 0);
  registry.update(figures('a', 'same-name'));
  registry.update(figures('b', 'same-name'));
  registry.remove('a');
  expect(registry.list().map((r) => r.id)).toEqual(['b']);
});
