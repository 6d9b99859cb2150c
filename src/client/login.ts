import { startAuthentication } from '@simplewebauthn/browser';
import type { ErrorBody } from '../shared/protocol';
import { byId } from './dom';

/** The sign-in page's passkey button; the name and password form needs no script. */
export function setupLogin(): void {
  const button = byId('passkey-signin', HTMLButtonElement);
  const nameInput = byId('name', HTMLInputElement);
  const error = byId('passkey-error', HTMLElement);

  button.addEventListener('click', async () => {
    error.textContent = '';
    if (!nameInput.value.trim()) {
      error.textContent = 'Enter your name first, then use its passkey';
      return nameInput.focus();
    }
    button.disabled = true;
    try {
      const optionsJSON = await postJson('/api/passkey-login/options', { name: nameInput.value });
      const response = await startAuthentication({ optionsJSON: optionsJSON as never });
      await postJson('/api/passkey-login', { response });
      location.assign('/');
    } catch (failure) {
      error.textContent = describe(failure);
    } finally {
      button.disabled = false;
    }
  });
}

/** POSTs JSON; resolves with the answer, or throws the server's message. */
export async function postJson(url: string, body: unknown, method = 'POST'): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
  const answer = (await res.json().catch(() => null)) as { error?: ErrorBody } | null;
  if (!res.ok) throw new Error(answer?.error?.message ?? `The server answered HTTP ${res.status}`);
  return answer;
}

/** A person-readable reason, also for the browser's own WebAuthn refusals. */
export function describe(failure: unknown): string {
  if (failure instanceof TypeError) return 'The server could not be reached';
  const error = failure as Error;
  if (error.name === 'NotAllowedError') return 'The passkey request was cancelled or timed out';
  return error.message;
}
