import type { AppendedMessage, NewMessage, Store } from '../store/types';

/** Most messages one store write carries: bounds the insert's size and the wait of the last one. */
const MAX_BATCH = 100;

interface Waiting {
  message: NewMessage;
  resolve(result: AppendedMessage | null): void;
  reject(error: unknown): void;
}

/**
 * Group commit per room. A send goes to the store at once when nothing is being written
 * for its room; sends that arrive meanwhile wait and then go together, so one counter step
 * and one insert serve the batch. A replica therefore numbers a room's messages in the
 * order it received them, and a burst costs a few round trips instead of one pair per send.
 */
export function createMessageWriter(store: Store) {
  const queues = new Map<string, Waiting[]>();

  const drain = async (roomId: string, queue: Waiting[]) => {
    while (queue.length > 0) {
      const batch = queue.splice(0, MAX_BATCH);
      try {
        const results = await store.messages.append(
          roomId,
          batch.map((w) => w.message),
        );
        batch.forEach((waiting, index) => waiting.resolve(results ? results[index]! : null));
      } catch (error) {
        for (const waiting of batch) waiting.reject(error);
      }
    }
    queues.delete(roomId);
  };

  return {
    /** Resolves with the stored message, or null when the room does not exist. */
    append(roomId: string, message: NewMessage): Promise<AppendedMessage | null> {
      return new Promise((resolve, reject) => {
        const running = queues.get(roomId);
        if (running) return void running.push({ message, resolve, reject });
        const queue: Waiting[] = [{ message, resolve, reject }];
        queues.set(roomId, queue);
        void drain(roomId, queue);
      });
    },
  };
}
