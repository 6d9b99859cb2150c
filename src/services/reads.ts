import type { ReadPosition, UserDTO } from '../shared/protocol';
import type { ChatContext } from './context';

/**
 * Read positions kept by the server, so unread and mention counts are the same in every tab
 * and device of a person and survive reloads. Mentions are written to the mentioned person's
 * position when the message is stored (a cost per person mentioned, not per room member).
 */
export function createReadPositions({ store, requireRoom }: ChatContext) {
  return {
    async markRead(viewer: UserDTO, roomId: string, seq: number): Promise<ReadPosition> {
      const room = await requireRoom(roomId, viewer.id);
      return store.reads.mark(viewer.id, room.id, seq);
    },

    async readPositions(viewer: UserDTO): Promise<ReadPosition[]> {
      return store.reads.list(viewer.id);
    },

    /** Counts a message as an unread mention for these people. */
    async mentioned(roomId: string, seq: number, userIds: readonly string[]): Promise<void> {
      if (userIds.length > 0) await store.reads.addMention(roomId, seq, userIds);
    },
  };
}
