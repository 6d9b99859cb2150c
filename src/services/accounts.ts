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

/** How a session was signed in: with only the name (of an unprotected name), its password or a passkey. */
export type SignInMethod = 'name' | 'password' | 'passkey';

/** What a session shows to change a protected name's protection. */
export interface OwnershipProof {
  currentPassword?: string;
  /** How the asking session was signed in (unknown for sessions older than this field). */
  method?: SignInMethod;
}

/** Sessions ended by raising the person's epoch: the new epoch, and the remembered sessions to delete. */
export interface EndedSessions {
  sessionEpoch: number;
  sessionIds: string[];
}

/** Same letters apart from case: the same person's name, not a lookalike of it. */
const sameSpelling = (a: string, b: string) => normalizeName(a).toLocaleLowerCase('und') === normalizeName(b).toLocaleLowerCase('und');

export function createAccountService(store: Store, options: AccountOptions) {
  // Wrong passwords per name: a guessing script meets a wall long before a strong password falls.
  const wrongPasswords = options.limiters.create('wrong-password', 10, 15 * 60);

  const checkPassword = async (user: UserRecord, candidate: string) => {
    if (!user.passwordHash) throw new ChatError('NAME_PROTECTED', `“${user.name}” is protected by a passkey: use “Sign in with a passkey”`);
    // A point is taken before verifying and given back for the right password: while the name is
    // locked even the right one is refused (else the lockout only slows a guesser down), and
    // guesses sent all at once cannot all reach verify before the first wrong one counts.
    if (!(await allowed(wrongPasswords, user.id))) throw new ChatError('RATE_LIMITED', 'Too many wrong passwords for this name; try again in 15 minutes');
    if (await verify(user.passwordHash, candidate).catch(() => false)) {
      await wrongPasswords.reward(user.id, 1).catch(() => {});
      return;
    }
    throw new ChatError('WRONG_PASSWORD', 'Wrong password for this name');
  };

  /**
   * A protected name's protection changes only for whoever proves to own it: its current password
   * when it has one, else a session signed in with a passkey (or a password since removed). An
   * unprotected name needs no proof: whoever protects it first owns it.
   */
  const proveOwnership = async (user: UserRecord, proof: OwnershipProof) => {
    if (user.passwordHash) return checkPassword(user, proof.currentPassword ?? '');
    if (user.passkeys.length > 0 && proof.method !== 'passkey' && proof.method !== 'password') {
      throw new ChatError('NAME_PROTECTED', `Sign in again with a passkey of “${user.name}” to change its protection`);
    }
  };

  /**
   * Runs `change` on the name's protection once the owner is proven. When it is the name's first
   * protection, every session of the person ends (whoever entered the open name before must not
   * stay); the caller keeps its own with the returned epoch and ends the others.
   */
  const changeProtection = async (userId: string, proof: OwnershipProof, change: (user: UserRecord) => Promise<unknown>) => {
    const user = await requireUser(userId);
    await proveOwnership(user, proof);
    await change(user);
    // After the change, not before: until then anyone could still enter the open name anew.
    return isProtected(user) ? null : endAll(userId);
  };

  const endAll = async (userId: string): Promise<EndedSessions> => {
    const ended = await store.users.endSessions(userId);
    if (!ended) throw new ChatError('UNAUTHORIZED', 'Sign in again');
    return ended;
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
    /**
     * Signs in under `rawName`; a password given for an unclaimed name becomes its protection, and
     * then every other session of that person ends (`ended`).
     */
    async signIn(
      rawName: unknown,
      rawPassword?: string,
    ): Promise<{ user: UserDTO; sessionEpoch: number; method: SignInMethod; ended: EndedSessions | null }> {
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
        return { user: options.toUser(user), sessionEpoch: user.sessionEpoch, method: 'password', ended: null };
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
      if (newPassword === undefined) return { user: options.toUser(user), sessionEpoch: user.sessionEpoch, method: 'name', ended: null };
      user = (await store.users.setPassword(user.id, await hash(newPassword))) ?? user;
      const ended = await endAll(user.id);
      return { user: options.toUser(user), sessionEpoch: ended.sessionEpoch, method: 'password', ended };
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

    /** Sets or changes the password (see `changeProtection` for who may). */
    async setPassword(userId: string, rawPassword: unknown, proof: OwnershipProof) {
      const newPassword = parsePassword(rawPassword);
      return changeProtection(userId, proof, async () => store.users.setPassword(userId, await hash(newPassword)));
    },

    async removePassword(userId: string, proof: OwnershipProof) {
      const user = await requireUser(userId);
      if (!user.passwordHash) return;
      await checkPassword(user, proof.currentPassword ?? '');
      if (options.requireProtection && user.passkeys.length === 0) {
        throw new ChatError('PROTECTION_REQUIRED', 'This server protects every name: add a passkey before removing the password');
      }
      await store.users.setPassword(userId, null);
    },

    /** Refuses early, before the browser asks its authenticator, a passkey `addPasskey` would refuse. */
    async mayAddPasskey(userId: string, proof: OwnershipProof) {
      await proveOwnership(await requireUser(userId), proof);
    },

    /** Adds a passkey through `register` (the verified WebAuthn ceremony) once the owner is proven. */
    addPasskey: (userId: string, proof: OwnershipProof, register: () => Promise<unknown>) => changeProtection(userId, proof, register),

    async removePasskey(userId: string, credentialId: string, proof: OwnershipProof) {
      await changeProtection(userId, proof, async (user) => {
        if (!user.passkeys.some((p) => p.id === credentialId)) throw new ChatError('PASSKEY_NOT_FOUND', 'No such passkey on this name');
        if (options.requireProtection && user.passkeys.length === 1 && !user.passwordHash) {
          throw new ChatError('PROTECTION_REQUIRED', 'This server protects every name: set a password before removing the last passkey');
        }
        await store.users.removePasskey(userId, credentialId);
      });
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
     * Deletes unprotected accounts idle since `before`, a batch at a time; returns who they were and
     * the sessions they had, which the caller ends. Protected names never expire.
     */
    async expireIdle(before: Date): Promise<{ users: number; userIds: string[]; sessionIds: string[] }> {
      const removed = await store.users.deleteIdleUnprotected(before, 500);
      return { users: removed.length, userIds: removed.map((r) => r.id), sessionIds: removed.flatMap((r) => r.sessionIds) };
    },

    rememberSession: (userId: string, sessionId: string) => store.users.addSession(userId, sessionId),
    forgetSession: (userId: string, sessionId: string) => store.users.removeSession(userId, sessionId),

    /** "Sign out everywhere": every session of this person ends; returns the ones to delete. */
    endSessions: async (userId: string): Promise<string[]> => (await endAll(userId)).sessionIds,
  };
}
