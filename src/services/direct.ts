import { LIMITS, type RoomDTO, type UserDTO } from '../shared/protocol';
import type { ChatContext } from './context';
import { ChatError } from './errors';

/**
 * Direct conversations: rooms of kind `direct` with two members, stored like any room (same
 * seq, history, catch-up and typing) but readable only by those two: every read, join and
 * send goes through `requireRoom`, which treats anyone else as if the room did not exist.
 */
export function createDirectConversations({ store, views }: ChatContext) {
  return {
    /**
     * The conversation of `viewer` with `peerId`, created the first time. Also returns it as
     * the other person sees it, to tell them when it is new.
     */
    async openDirect(viewer: UserDTO, peerId: string): Promise<{ room: RoomDTO; created: boolean; forPeer: RoomDTO }> {
      if (peerId === viewer.id) throw new ChatError('INVALID_RECIPIENT', 'Pick someone else to talk to');
      const peer = await store.users.findById(peerId);
      if (!peer) throw new ChatError('USER_NOT_FOUND', 'This person does not exist (any more)');
      const { room, created } = await store.rooms.ensureDirect(viewer.id, peer.id);
      views.userChanged(views.toUser(peer));
      views.userChanged(viewer);
      return { room: await views.toRoom(room, viewer.id), created, forPeer: await views.toRoom(room, peer.id) };
    },

    /** The person's direct conversations, newest first, named after the other person. */
    async listDirect(viewer: UserDTO): Promise<RoomDTO[]> {
      return views.toRooms(await store.rooms.listDirect(viewer.id, LIMITS.directPageSize), viewer.id);
    },
  };
}
