import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { UserDTO } from '../shared/protocol';
import type { Store } from '../store/types';
import { ChatError } from './errors';

/**
 * Passkeys (WebAuthn) with @simplewebauthn/server. The relying party is the site the browser
 * shows: its host name (rpID) and origin come from the request, which the same-origin check
 * has vetted, or from PUBLIC_URL. Each ceremony's challenge lives in the session that asked.
 */
export interface RelyingParty {
  id: string;
  origin: string;
}

export type PasskeyService = ReturnType<typeof createPasskeyService>;

const RP_NAME = 'docker-chat';
const failed = (why: string) => new ChatError('PASSKEY_FAILED', `The passkey was not accepted: ${why}`);

export function createPasskeyService(store: Store, toUser: (user: NonNullable<Awaited<ReturnType<Store['users']['findById']>>>) => UserDTO) {
  return {
    async registrationOptions(userId: string, rp: RelyingParty) {
      const user = await store.users.findById(userId);
      if (!user) throw new ChatError('UNAUTHORIZED', 'Sign in again');
      return generateRegistrationOptions({
        rpName: RP_NAME,
        rpID: rp.id,
        userName: user.name,
        userID: new TextEncoder().encode(user.id),
        attestationType: 'none',
        excludeCredentials: user.passkeys.map((p) => ({ id: p.id, transports: p.transports as AuthenticatorTransport[] })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
    },

    async register(userId: string, response: unknown, expectedChallenge: string, rp: RelyingParty) {
      const verification = await verifyRegistrationResponse({
        response: response as RegistrationResponseJSON,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserVerification: false,
      }).catch((error: unknown) => {
        throw failed(error instanceof Error ? error.message : 'invalid response');
      });
      if (!verification.verified) throw failed('the browser’s answer did not verify');
      const { credential } = verification.registrationInfo;
      const user = await store.users.addPasskey(userId, {
        id: credential.id,
        publicKey: Buffer.from(credential.publicKey).toString('base64url'),
        counter: credential.counter,
        transports: credential.transports ?? [],
        createdAt: new Date(),
      });
      if (!user) throw new ChatError('UNAUTHORIZED', 'Sign in again');
      return { id: credential.id };
    },

    async authenticationOptions(userId: string, rp: RelyingParty) {
      const user = await store.users.findById(userId);
      if (!user || user.passkeys.length === 0) throw new ChatError('PASSKEY_NOT_FOUND', 'This name has no passkey');
      return generateAuthenticationOptions({
        rpID: rp.id,
        allowCredentials: user.passkeys.map((p) => ({ id: p.id, transports: p.transports as AuthenticatorTransport[] })),
        userVerification: 'preferred',
      });
    },

    /** Verifies a sign-in with a passkey of `userId`; returns the user and their session epoch. */
    async authenticate(userId: string, response: unknown, expectedChallenge: string, rp: RelyingParty) {
      const user = await store.users.findById(userId);
      const answer = response as AuthenticationResponseJSON;
      const passkey = user?.passkeys.find((p) => p.id === answer?.id);
      if (!user || !passkey) throw new ChatError('PASSKEY_NOT_FOUND', 'This passkey does not belong to this name (it may have been removed)');
      const verification = await verifyAuthenticationResponse({
        response: answer,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        credential: {
          id: passkey.id,
          publicKey: new Uint8Array(Buffer.from(passkey.publicKey, 'base64url')),
          counter: passkey.counter,
          transports: passkey.transports as AuthenticatorTransport[],
        },
        requireUserVerification: false,
      }).catch((error: unknown) => {
        throw failed(error instanceof Error ? error.message : 'invalid response');
      });
      if (!verification.verified) throw failed('the signature did not verify');
      await store.users.setPasskeyCounter(user.id, passkey.id, verification.authenticationInfo.newCounter);
      await store.users.touch(user.id);
      return { user: toUser(user), sessionEpoch: user.sessionEpoch };
    },
  };
}
