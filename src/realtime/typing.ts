import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Limiters } from '../lib/limiters';
import { typingPayload } from '../services/schemas';
import { roomChannel, type ChatSocket } from './channels';

/** Typing is best effort: relayed to the room, dropped (not answered) when invalid or too frequent. */
export function typingHandlers(socket: ChatSocket, limiter: RateLimiterAbstract) {
  socket.on('typing', async (payload) => {
    const parsed = typingPayload.safeParse(payload);
    if (!parsed.success || socket.data.roomId !== parsed.data.roomId) return;
    // Per person, not per socket: more tabs do not buy more typing events.
    if (!(await limiter.consume(socket.data.user.id).then(() => true, () => false))) return;
    socket.to(roomChannel(parsed.data.roomId)).emit('typing', { ...parsed.data, user: socket.data.user });
  });
}

export const typingLimiter = (limiters: Limiters) => limiters.create('typing', 10, 10);
