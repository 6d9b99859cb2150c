import { hash, verify } from '@node-rs/argon2';
import { allowed, type Limiters } from '../lib/limiters';
import { z } from 'zod';
import type { UserDTO } from '../shared/protocol';
import type { Store, UserRecord } from '../store/types';
import { ChatError } from './errors';
import { normalizeName } from './names';
import { displayName, firstIssue } from './schemas';

/**
 * Who may enter under a name. An unclaimed name is entered in one step, as in the original
 * demo; a protected name (a password, a passkey or both) only with one of them. A name that
 * looks like an existing one (same skeleton, different letters) is refused, never entered.
 */
export type AccountService = ReturnType<typeof createAccountService>;

export const PASSWORD_MIN_LENGTH = 8;
const PASSWORD_MAX_LENGTH = 200;
export const password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `A password has at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `A password has at most ${PASSWORD_MAX_LENGTH} characters`);

export interface AccountOptions {
  toUser(user: UserRecord): UserDTO;
  /** REQUIRE_NAME_PROTECTION: every name needs a password (or passkey) to be entered. */
  requireProtection: boolean;
  limiters: Limiters;
}

export const isProtected = (user: Pick<UserRecord, 'passwordHash' | 'passkeys'>) => user.passwordHash !== null || user.passkeys.length > 0;

/** Same letters apart from case: the same person's name, not a lookalike of it. */
const sameSpelling = (a: string, b: string) => normalizeName(a).toLocaleLowerCase('und') === normalizeName(b).toLocaleLowerCase('und');

export function createAccountService(store: Store, options: AccountOptions) {
  // Wrong passwords per name: a guessing script meets a wall long before a strong password falls.
  const wrongPasswords = options.limiters.create('wrong-password', 10, 15 * 60);

  const checkPassword = async (user: UserRecord, candidate: string) => {
    if (!user.passwordHash) throw new ChatError('NAME_PROTECTED', `“${user.name}” is protected by a passkey: use “Sign in with a passkey”`);
    if (await verify(user.passwordHash, candidate).catch(() => false)) return;
    if (!(await allowed(wrongPasswords, user.id))) throw new ChatError('RATE_LIMITED', 'Too many wrong passwords for this name; try again in 15 minutes');
    throw new ChatError('WRONG_PASSWORD', 'Wrong password for this name');
  };

  const parsePassword = (raw: unknown) => {
    const parsed = password.safeParse(raw);
    if (!parsed.success) throw new ChatError('INVALID_PASSWORD', firstIssue(parsed.error));
    return parsed.data;
  };

  const requireUser = async (userId: string) => {
    const user = await store.users.findById(userId);
    if (!user) throw new ChatError('UNAUTHORIZED', 'Sign in again');
    return user;
  };

  return {
    /** Signs in under `rawName`; a password given for an unclaimed name becomes its protection. */
    async signIn(rawName: unknown, rawPassword?: string): Promise<{ user: UserDTO; sessionEpoch: number }> {
      const parsed = displayName.safeParse(rawName);
      if (!parsed.success) throw new ChatError('INVALID_NAME', firstIssue(parsed.error));
      const name = parsed.data;
      const given = rawPassword === undefined || rawPassword === '' ? undefined : rawPassword;
      let user = await store.users.findByName(name);
      if (user && !sameSpelling(user.name, name)) {
        throw new ChatError('NAME_TAKEN', `“${name}” looks too much like “${user.name}”, who is already here: choose another name`);
      }
      if (user && isProtected(user)) {
        if (given === undefined) {
          throw new ChatError('NAME_PROTECTED', `“${user.name}” is protected: enter its password or sign in with its passkey`);
        }
        await checkPassword(user, given);
        await store.users.touch(user.id);
        return { user: options.toUser(user), sessionEpoch: user.sessionEpoch };
      }
      if (given === undefined && options.requireProtection) {
        throw new ChatError(
          'PROTECTION_REQUIRED',
          `This server protects every name: choose a password for “${name}” (at least ${PASSWORD_MIN_LENGTH} characters)`,
        );
      }
      const newPassword = given === undefined ? undefined : parsePassword(given);
      user ??= await store.users.findOrCreateByName(name);
      await store.users.touch(user.id);
      if (newPassword !== undefined) user = (await store.users.setPassword(user.id, await hash(newPassword))) ?? user;
      return { user: options.toUser(user), sessionEpoch: user.sessionEpoch };
    },

    /** The user of a session, or null when it was ended ("sign out everywhere") or the user is gone. */
    async sessionUser(userId: string, sessionEpoch: number | undefined): Promise<UserDTO | null> {
      const user = await store.users.findById(userId);
      if (!user || user.sessionEpoch !== (sessionEpoch ?? 0)) return null;
      return options.toUser(user);
    },

    async protection(userId: string) {
      const user = await requireUser(userId);
      return {
        password: user.passwordHash !== null,
        passkeys: user.passkeys.map((p) => ({ id: p.id, createdAt: p.createdAt.toISOString() })),
        required: options.requireProtection,
      };
    },

    /** Sets or changes the password; changing one needs the current one. */
    async setPassword(userId: string, rawPassword: unknown, currentPassword: unknown) {
      const user = await requireUser(userId);
      const newPassword = parsePassword(rawPassword);
      if (user.passwordHash) await checkPassword(user, typeof currentPassword === 'string' ? currentPassword : '');
      await store.users.setPassword(userId, await hash(newPassword));
    },

    async removePassword(userId: string, currentPassword: unknown) {
      const user = await requireUser(userId);
      if (!user.passwordHash) return;
      await checkPassword(user, typeof currentPassword === 'string' ? currentPassword : '');
      if (options.requireProtection && user.passkeys.length === 0) {
        throw new ChatError('PROTECTION_REQUIRED', 'This server protects every name: add a passkey before removing the password');
      }
      await store.users.setPassword(userId, null);
    },

    async removePasskey(userId: string, credentialId: string) {
      const user = await requireUser(userId);
      if (!user.passkeys.some((p) => p.id === credentialId)) throw new ChatError('PASSKEY_NOT_FOUND', 'No such passkey on this name');
      if (options.requireProtection && user.passkeys.length === 1 && !user.passwordHash) {
        throw new ChatError('PROTECTION_REQUIRED', 'This server protects every name: set a password before removing the last passkey');
      }
      await store.users.removePasskey(userId, credentialId);
    },

    /** The id of the user with this name (looked up by skeleton), for a passkey sign-in. */
    async idOfName(rawName: unknown): Promise<string> {
      const parsed = displayName.safeParse(rawName);
      if (!parsed.success) throw new ChatError('INVALID_NAME', firstIssue(parsed.error));
      const user = await store.users.findByName(parsed.data);
      if (!user || user.passkeys.length === 0) throw new ChatError('PASSKEY_NOT_FOUND', `“${parsed.data}” has no passkey`);
      return user.id;
    },

    /** A connection counts as activity: an account in use does not expire. */
    touch: (userId: string) => store.users.touch(userId),

    /**
     * Deletes unprotected accounts idle since `before`, a batch at a time; returns the sessions
     * they had, which the caller ends. Protected names never expire.
     */
    async expireIdle(before: Date): Promise<{ users: number; sessionIds: string[] }> {
      const removed = await store.users.deleteIdleUnprotected(before, 500);
      return { users: removed.length, sessionIds: removed.flatMap((r) => r.sessionIds) };
    },

    rememberSession: (userId: string, sessionId: string) => store.users.addSession(userId, sessionId),
    forgetSession: (userId: string, sessionId: string) => store.users.removeSession(userId, sessionId),

    /** "Sign out everywhere": every session of this person ends; returns the ones to delete. */
    async endSessions(userId: string): Promise<string[]> {
      const ended = await store.users.endSessions(userId);
      if (!ended) throw new ChatError('UNAUTHORIZED', 'Sign in again');
      return ended.sessionIds;
    },
  };
}
