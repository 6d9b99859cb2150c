import { byId } from './dom';

/** The phone layout's sidebar: a drawer behind the menu button. Returns a function that closes it. */
export function setupSidebar(): { close(): void } {
  const sidebar = byId('sidebar', HTMLElement);
  const button = byId('menu-button', HTMLButtonElement);
  const closeButton = byId('sidebar-close', HTMLButtonElement);
  const scrim = byId('scrim', HTMLDivElement);

  const setOpen = (open: boolean) => {
    sidebar.classList.toggle('open', open);
    button.setAttribute('aria-expanded', String(open));
    scrim.hidden = !open;
  };
  const close = () => {
    if (!sidebar.classList.contains('open')) return;
    setOpen(false);
    button.focus();
  };

  button.addEventListener('click', () => {
    setOpen(true);
    sidebar.querySelector<HTMLElement>('button, input')?.focus();
  });
  closeButton.addEventListener('click', close);
  scrim.addEventListener('click', close);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') close();
  });
  return { close };
}
