import type { UserDTO } from '../shared/protocol';

/** "Alice is typing…", "Alice and Bob are typing…", … */
export function typingText(names: readonly string[]): string {
  const [first, second, third] = names;
  if (names.length === 0) return '';
  if (names.length === 1) return `${first} is typing…`;
  if (names.length === 2) return `${first} and ${second} are typing…`;
  if (names.length === 3) return `${first}, ${second} and ${third} are typing…`;
  return 'Several people are typing…';
}

/**
 * Who else is typing. Typists refresh their signal every ~2 s, so one that
 * stays silent for `ttlMs` has stopped (or lost their connection).
 */
export class TypingIndicator {
  private readonly typists = new Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly onChange: (text: string) => void,
    private readonly ttlMs = 5000,
  ) {}

  update(user: UserDTO, typing: boolean): void {
    const current = this.typists.get(user.id);
    if (current) clearTimeout(current.timer);
    if (typing) {
      this.typists.set(user.id, { name: user.name, timer: setTimeout(() => this.stop(user.id), this.ttlMs) });
    } else {
      this.typists.delete(user.id);
    }
    this.emit();
  }

  stop(userId: string): void {
    const current = this.typists.get(userId);
    if (!current) return;
    clearTimeout(current.timer);
    this.typists.delete(userId);
    this.emit();
  }

  clear(): void {
    for (const { timer } of this.typists.values()) clearTimeout(timer);
    this.typists.clear();
    this.emit();
  }

  private emit(): void {
    this.onChange(typingText([...this.typists.values()].map((t) => t.name)));
  }
}

/** Our own typing signal: true at most every `intervalMs` while typing, false once when we stop. */
export class TypingSignal {
  private lastSent = 0;

  constructor(
    private readonly send: (typing: boolean) => void,
    private readonly intervalMs = 2000,
  ) {}

  input(hasText: boolean): void {
    if (!hasText) return this.stop();
    const now = Date.now();
    if (now - this.lastSent < this.intervalMs) return;
    this.lastSent = now;
    this.send(true);
  }

  stop(): void {
    if (this.lastSent === 0) return;
    this.lastSent = 0;
    this.send(false);
  }
}
