import { startRegistration } from '@simplewebauthn/browser';
import { byId, h } from './dom';
import { describe, postJson } from './login';

interface Protection {
  password: boolean;
  passkeys: { id: string; createdAt: string }[];
  required: boolean;
}

/** The "Protect name" dialog: set, change or remove a password, add or remove passkeys. */
export function setupProtection(): void {
  const dialog = byId('protection-dialog', HTMLDialogElement);
  const error = byId('protection-error', HTMLElement);
  const status = byId('protection-status', HTMLElement);
  const passwordForm = byId('password-form', HTMLFormElement);
  const current = byId('current-password', HTMLInputElement);
  const currentLabel = byId('current-password-label', HTMLLabelElement);
  const next = byId('new-password', HTMLInputElement);
  const removePassword = byId('password-remove', HTMLButtonElement);
  const passwordState = byId('password-state', HTMLElement);
  const list = byId('passkey-list', HTMLUListElement);
  // A name with a password changes its protection (passkeys included) only with the current one.
  const proof = () => (current.hidden ? {} : { currentPassword: current.value });

  const render = (protection: Protection) => {
    passwordState.textContent = protection.password ? '(set)' : '(none)';
    current.hidden = currentLabel.hidden = removePassword.hidden = !protection.password;
    list.replaceChildren(
      ...protection.passkeys.map((passkey, index) => {
        const remove = h('button', { className: 'button button-small button-ghost', text: 'Remove', attrs: { type: 'button' } });
        remove.setAttribute('aria-label', `Remove passkey ${index + 1}`);
        remove.addEventListener('click', () =>
          run(async () => {
            render((await postJson(`/api/passkeys/${encodeURIComponent(passkey.id)}`, proof(), 'DELETE')) as Protection);
            return 'Passkey removed';
          }),
        );
        const added = new Date(passkey.createdAt).toLocaleDateString();
        return h('li', {}, [h('span', { text: `Passkey ${index + 1}, added ${added}` }), remove]);
      }),
    );
  };

  /** Runs one action, showing its refusal or what it did. */
  const run = async (action: () => Promise<string>) => {
    error.textContent = '';
    status.textContent = '';
    try {
      status.textContent = await action();
    } catch (failure) {
      error.textContent = describe(failure);
    }
  };

  byId('protection-open', HTMLButtonElement).addEventListener('click', () =>
    run(async () => {
      dialog.showModal();
      const res = await fetch('/api/protection', { credentials: 'same-origin' });
      if (res.status === 401) location.assign('/login');
      render((await res.json()) as Protection);
      return '';
    }),
  );
  byId('protection-close', HTMLButtonElement).addEventListener('click', () => dialog.close());

  passwordForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(async () => {
      const body = { password: next.value, ...proof() };
      render((await postJson('/api/password', body, 'PUT')) as Protection);
      passwordForm.reset();
      return 'Password saved: your name is protected';
    });
  });

  removePassword.addEventListener('click', () =>
    run(async () => {
      render((await postJson('/api/password', { currentPassword: current.value }, 'DELETE')) as Protection);
      passwordForm.reset();
      return 'Password removed';
    }),
  );

  byId('passkey-add', HTMLButtonElement).addEventListener('click', () =>
    run(async () => {
      const optionsJSON = await postJson('/api/passkeys/options', proof());
      const response = await startRegistration({ optionsJSON: optionsJSON as never });
      render((await postJson('/api/passkeys', { response, ...proof() })) as Protection);
      return 'Passkey added: your name is protected';
    }),
  );
}
