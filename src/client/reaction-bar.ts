import { REACTIONS, type MessageDTO, type ReactionEmoji } from '../shared/protocol';
import { h } from './dom';
import { reactionChips, toggledOn } from './reactions';

export interface ReactionBarOptions {
  meId: string;
  /** Whether the emoji set is open under this message. */
  pickerOpen: boolean;
  toggle(emoji: ReactionEmoji, on: boolean): void;
  setPicker(open: boolean): void;
}

/**
 * A message's reactions: a chip per emoji ("👍 3", pressed when you reacted) and "+" for the
 * whole set, which opens under them. A message without reactions has its "+" among the actions
 * shown on hover (`addReactionButton`), and a bar only while the set is open.
 */
export function reactionBar(message: MessageDTO, options: ReactionBarOptions): HTMLElement {
  const chips = reactionChips(message.reactions, options.meId).map((chip) => {
    const button = h('button', {
      className: chip.mine ? 'reaction mine' : 'reaction',
      attrs: {
        type: 'button',
        title: chip.title,
        'aria-pressed': String(chip.mine),
        'aria-label': `${chip.emoji} ${chip.count}: ${chip.title}`,
      },
    }, [h('span', { className: 'reaction-emoji', text: chip.emoji }), h('span', { className: 'reaction-count', text: String(chip.count) })]);
    button.dataset.emoji = chip.emoji;
    button.addEventListener('click', () => options.toggle(chip.emoji, !chip.mine));
    return button;
  });

  const bar = h('div', { className: 'reaction-bar' }, chips.length > 0 ? [...chips, addReactionButton(options)] : []);
  if (options.pickerOpen) bar.append(picker(message, options));
  return bar;
}

/** "+": opens (or closes) the emoji set. */
export function addReactionButton(options: Pick<ReactionBarOptions, 'pickerOpen' | 'setPicker'>): HTMLButtonElement {
  const add = h('button', {
    className: 'reaction reaction-add',
    text: '+',
    attrs: { type: 'button', title: 'Add a reaction', 'aria-label': 'Add a reaction', 'aria-expanded': String(options.pickerOpen) },
  });
  add.addEventListener('click', () => options.setPicker(!options.pickerOpen));
  return add;
}

function picker(message: MessageDTO, options: ReactionBarOptions): HTMLElement {
  const buttons = REACTIONS.map((emoji) => {
    const on = toggledOn(message.reactions, emoji, options.meId);
    const button = h('button', {
      className: on ? 'reaction-choice' : 'reaction-choice mine',
      text: emoji,
      attrs: { type: 'button', 'aria-label': `React with ${emoji}`, 'aria-pressed': String(!on) },
    });
    button.addEventListener('click', () => {
      options.setPicker(false);
      options.toggle(emoji, on);
    });
    return button;
  });
  const set = h('div', { className: 'reaction-picker', attrs: { role: 'group', 'aria-label': 'Reactions' } }, buttons);
  set.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.stopPropagation();
    options.setPicker(false);
  });
  return set;
}
