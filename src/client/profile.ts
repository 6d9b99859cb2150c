import type { ErrorBody, UserDTO } from '../shared/protocol';
import { byId } from './dom';

/** The "Change photo" control: uploads to POST /api/avatar and shows the server's refusal, if any. */
export function setupAvatarUpload(onUploaded: (user: UserDTO) => void): void {
  const input = byId('avatar-input', HTMLInputElement);
  const error = byId('avatar-error', HTMLElement);

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    error.textContent = '';
    const form = new FormData();
    form.append('avatar', file);
    try {
      const res = await fetch('/api/avatar', { method: 'POST', body: form, credentials: 'same-origin' });
      const body = (await res.json().catch(() => null)) as { user?: UserDTO; error?: ErrorBody } | null;
      if (res.status === 401) return location.assign('/login');
      if (!res.ok || !body?.user) throw new Error(body?.error?.message ?? `Upload failed (HTTP ${res.status})`);
      onUploaded(body.user);
    } catch (failure) {
      error.textContent = failure instanceof TypeError ? 'Upload failed: the server could not be reached' : String((failure as Error).message);
    } finally {
      input.value = ''; // choosing the same file again must fire "change" again
    }
  });
}
