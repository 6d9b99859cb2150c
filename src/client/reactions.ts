import type { ReactionDTO, ReactionEmoji } from '../shared/protocol';

/** A reaction as the page shows it: the emoji, how many, whether you are among them, and who. */
export interface ReactionChip {
  emoji: ReactionEmoji;
  count: number;
  mine: boolean;
  /** The names the server listed, and how many more reacted. */
  title: string;
}

/** "Alice", "Alice and Bob", "Alice, Bob and Carol", "Alice, Bob and 3 others". */
export function reactionTitle(reaction: ReactionDTO): string {
  const names = reaction.users.map((u) => u.name);
  const others = Math.max(0, reaction.count - names.length);
  if (names.length === 0) return others === 1 ? '1 person' : `${others} people`;
  if (others > 0) return `${names.join(', ')} and ${others === 1 ? '1 other' : `${others} others`}`;
  if (names.length === 1) return names[0]!;
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** The message's reactions as chips, in the server's order; empty ones left out. */
export function reactionChips(reactions: readonly ReactionDTO[], meId: string): ReactionChip[] {
  return reactions
    .filter((r) => r.count > 0)
    .map((r) => ({ emoji: r.emoji, count: r.count, mine: r.users.some((u) => u.id === meId), title: reactionTitle(r) }));
}

/** What a click on `emoji` asks the server: to add your reaction, or to take it back. */
export function toggledOn(reactions: readonly ReactionDTO[], emoji: ReactionEmoji, meId: string): boolean {
  return !reactions.some((r) => r.emoji === emoji && r.users.some((u) => u.id === meId));
}
