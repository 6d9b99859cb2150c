import type { MentionRecord, RoomRecord, Store } from '../store/types';
import type { Views } from './views';

/** Who may receive what happens in a room: everyone (null), or a direct conversation's two people. */
export type Audience = readonly string[] | null;

/** What the chat service's parts share (src/services/chat.ts builds it). */
export interface ChatContext {
  store: Store;
  views: Views;
  /** The room if this person may read it, else ROOM_NOT_FOUND (also for others' direct conversations). */
  requireRoom(roomId: string, viewerId: string): Promise<RoomRecord>;
  audienceOf(room: RoomRecord): Audience;
  /** The people a text mentions who may read the room. */
  mentionsIn(text: string, room: RoomRecord): Promise<MentionRecord[]>;
}
