import type { UserDTO } from '../shared/protocol';

interface Props {
  className?: string;
  text?: string;
  attrs?: Record<string, string>;
}

/** Builds an element; text always goes through textContent, so user input is never parsed as HTML. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, children: Node[] = []): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  element.append(...children);
  return element;
}

/** The page's element with this id; throws early if the view and the script disagree. */
export function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return element;
}

function initials(name: string): string {
  const words = name.split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0]!, words.at(-1)!] : [name];
  return letters.map((word) => [...word][0] ?? '').join('').toUpperCase() || '?';
}

/** A stable hue per name, dark enough for white initials. */
function colourFor(name: string): string {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.codePointAt(0)!) >>> 0;
  return `hsl(${hash % 360} 50% 38%)`;
}

type AvatarSize = 'sm' | 'md';

/** The profile photo, or the default avatar: initials on the name's colour. */
export function avatar(user: UserDTO, size: AvatarSize = 'md'): HTMLElement {
  const className = `avatar avatar-${size}`;
  const element = user.avatarUrl
    ? h('img', { className, attrs: { src: user.avatarUrl, alt: '', loading: 'lazy' } })
    : h('span', { className: `${className} avatar-initials`, text: initials(user.name), attrs: { 'aria-hidden': 'true' } });
  if (!user.avatarUrl) element.style.backgroundColor = colourFor(user.name);
  element.dataset.userId = user.id;
  element.dataset.size = size;
  return element;
}

/** Swaps every avatar of `user` on the page for a fresh one (after a photo change). */
export function refreshAvatars(user: UserDTO): void {
  for (const element of document.querySelectorAll<HTMLElement>(`.avatar[data-user-id="${CSS.escape(user.id)}"]`)) {
    element.replaceWith(avatar(user, element.dataset.size === 'sm' ? 'sm' : 'md'));
  }
}
