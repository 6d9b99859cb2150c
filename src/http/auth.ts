import express, { type Request, type Response } from 'express';
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { Logger } from '../lib/logger';
import type { AccountService, EndedSessions, OwnershipProof, SignInMethod } from '../services/accounts';
import { ChatError, isExpected, toErrorBody } from '../services/errors';
import type { PasskeyService, RelyingParty } from '../services/passkeys';
import { firstIssue } from '../services/schemas';
import type { ServerInfo, UserDTO } from '../shared/protocol';
import { LIMITS } from '../shared/protocol';

declare module 'express-session' {
  interface SessionData {
    /** The user's session epoch at sign-in: "sign out everywhere" raises it, ending this session. */
    epoch: number;
    /** How this session was signed in: a passkey-only name's protection changes only with a credential. */
    authMethod: SignInMethod;
    /** A WebAuthn ceremony in progress: its challenge, and for sign-in whose name it is for. */
    passkeyChallenge: string;
    passkeyUserId: string;
  }
}

export interface AuthDeps {
  accounts: AccountService;
  passkeys: PasskeyService;
  logger: Logger;
  serverInfo: () => ServerInfo;
  /** PUBLIC_URL's origin, which then names the passkeys' relying party; else each request's own. */
  publicOrigin: string | null;
  signInLimiter: RequestHandler;
  /** Deletes a session from the session store (any replica's, it is shared). */
  destroySession(sessionId: string): Promise<void>;
  /** Disconnects the sockets of these sessions on every replica. */
  onSignOut(sessionIds: string[]): void;
  /** Disconnects every socket of this person on every replica, but those of `keepSessionId`. */
  disconnectPerson(userId: string, keepSessionId?: string): void;
  /** Maps a ChatError code to its HTTP status. */
  status(code: ReturnType<typeof toErrorBody>['code']): number;
}

const signInForm = z.strictObject({ name: z.string(), password: z.string().max(1000).optional() });
const passwordForm = z.strictObject({ password: z.string().max(1000), currentPassword: z.string().max(1000).optional() });
const currentPasswordForm = z.strictObject({ currentPassword: z.string().max(1000).optional() });
const nameForm = z.strictObject({ name: z.string().max(200) });
const ceremonyAnswer = z.strictObject({ response: z.record(z.string(), z.unknown()) });
const registrationAnswer = ceremonyAnswer.extend(currentPasswordForm.shape);

function parse<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new ChatError('INVALID_PAYLOAD', firstIssue(parsed.error));
  return parsed.data;
}

function promisify(run: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));
}

/**
 * Signing in and out, protecting a name (password, passkeys) and "sign out everywhere".
 * Returns the routes and `currentUser`, which every other route uses to know who asks.
 */
export function createAuth(deps: AuthDeps) {
  const { accounts, passkeys } = deps;

  const relyingParty = (req: Request): RelyingParty => {
    const origin = deps.publicOrigin ?? `${req.protocol}://${req.get('host')}`;
    return { id: new URL(origin).hostname, origin };
  };

  /** The signed-in user, or null; a session ended elsewhere ("sign out everywhere") is deleted here. */
  const currentUser = async (req: Request): Promise<UserDTO | null> => {
    const userId = req.session.userId;
    if (!userId) return null;
    const user = await accounts.sessionUser(userId, req.session.epoch);
    if (!user) await promisify((done) => req.session.destroy(done));
    return user;
  };

  const requireUser = async (req: Request): Promise<UserDTO> => {
    const user = await currentUser(req);
    if (!user) throw new ChatError('UNAUTHORIZED', 'Sign in first');
    return user;
  };

  /** A new session id on every sign-in (no fixation); the sockets of the one it replaces go. */
  const startSession = async (req: Request, user: UserDTO, epoch: number, method: SignInMethod) => {
    const replaced = req.session.userId ? req.sessionID : null;
    await promisify((done) => req.session.regenerate(done));
    req.session.userId = user.id;
    req.session.epoch = epoch;
    req.session.authMethod = method;
    await promisify((done) => req.session.save(done));
    await accounts.rememberSession(user.id, req.sessionID);
    if (replaced) deps.onSignOut([replaced]);
  };

  /** Deletes the person's ended sessions but `keep`, and disconnects their sockets on every replica. */
  const endSessions = async (userId: string, sessionIds: string[], keep?: string) => {
    await Promise.all(sessionIds.filter((id) => id !== keep).map((id) => deps.destroySession(id)));
    deps.disconnectPerson(userId, keep);
  };

  /**
   * The name just got its first protection, which ended every session of the person: this one,
   * which set it, stays (on the new epoch) and counts as signed in with what it set.
   */
  const keepOnlyThisSession = async (req: Request, userId: string, ended: EndedSessions, method: SignInMethod) => {
    req.session.epoch = ended.sessionEpoch;
    req.session.authMethod = method;
    await promisify((done) => req.session.save(done));
    await accounts.rememberSession(userId, req.sessionID);
    await endSessions(userId, ended.sessionIds, req.sessionID);
  };

  const proofOf = (req: Request, currentPassword: string | undefined): OwnershipProof => ({ currentPassword, method: req.session.authMethod });

  const signIn = async (req: Request) => {
    const form = parse(signInForm, req.body);
    const { user, sessionEpoch, method, ended } = await accounts.signIn(form.name, form.password);
    if (ended) await endSessions(user.id, ended.sessionIds);
    await startSession(req, user, sessionEpoch, method);
    return user;
  };

  const signOut = async (req: Request) => {
    const { sessionID } = req;
    const userId = req.session.userId;
    await promisify((done) => req.session.destroy(done));
    if (userId) await accounts.forgetSession(userId, sessionID);
    deps.onSignOut([sessionID]);
  };

  // Only the last sessions are remembered: older ones are refused by their epoch, and their
  // sockets reached through the person's channel.
  const signOutEverywhere = async (req: Request) => {
    const user = await requireUser(req);
    await endSessions(user.id, [...new Set([...(await accounts.endSessions(user.id)), req.sessionID])]);
  };

  const router = express.Router();
  const renderLogin = (res: Response, status: number, error: string | null, name: string) =>
    res.status(status).render('login', { error, name, server: deps.serverInfo(), limits: LIMITS });

  router.get('/login', async (req, res) => {
    if (await currentUser(req)) return res.redirect(303, '/');
    renderLogin(res, 200, null, '');
  });

  router.post('/login', deps.signInLimiter, async (req, res) => {
    try {
      await signIn(req);
      res.redirect(303, '/');
    } catch (error) {
      const body = toErrorBody(error);
      if (!isExpected(error)) deps.logger.error({ err: error }, 'sign-in failed');
      const name = typeof req.body?.name === 'string' ? req.body.name.slice(0, 100) : '';
      renderLogin(res, deps.status(body.code), body.message, name);
    }
  });

  router.post('/logout', async (req, res) => {
    await signOut(req);
    res.redirect(303, '/login');
  });

  router.post('/logout-everywhere', async (req, res) => {
    await signOutEverywhere(req);
    res.redirect(303, '/login');
  });

  router.get('/api/session', async (req, res) => {
    res.json({ user: await requireUser(req), server: deps.serverInfo() });
  });

  router.post('/api/session', deps.signInLimiter, async (req, res) => {
    const user = await signIn(req);
    res.status(201).json({ user, server: deps.serverInfo() });
  });

  router.delete('/api/session', async (req, res) => {
    await signOut(req);
    res.status(204).end();
  });

  router.delete('/api/sessions', async (req, res) => {
    await signOutEverywhere(req);
    res.status(204).end();
  });

  router.get('/api/protection', async (req, res) => {
    res.json(await accounts.protection((await requireUser(req)).id));
  });

  router.put('/api/password', deps.signInLimiter, async (req, res) => {
    const user = await requireUser(req);
    const form = parse(passwordForm, req.body);
    const ended = await accounts.setPassword(user.id, form.password, proofOf(req, form.currentPassword));
    if (ended) await keepOnlyThisSession(req, user.id, ended, 'password');
    res.json(await accounts.protection(user.id));
  });

  router.delete('/api/password', deps.signInLimiter, async (req, res) => {
    const user = await requireUser(req);
    await accounts.removePassword(user.id, proofOf(req, parse(currentPasswordForm, req.body).currentPassword));
    res.json(await accounts.protection(user.id));
  });

  router.post('/api/passkeys/options', deps.signInLimiter, async (req, res) => {
    const user = await requireUser(req);
    await accounts.mayAddPasskey(user.id, proofOf(req, parse(currentPasswordForm, req.body).currentPassword));
    const options = await passkeys.registrationOptions(user.id, relyingParty(req));
    req.session.passkeyChallenge = options.challenge;
    res.json(options);
  });

  // The proof is checked again here: the options step only spares the authenticator a refused ceremony.
  router.post('/api/passkeys', deps.signInLimiter, async (req, res) => {
    const user = await requireUser(req);
    const challenge = takeChallenge(req);
    const form = parse(registrationAnswer, req.body);
    const ended = await accounts.addPasskey(user.id, proofOf(req, form.currentPassword), () =>
      passkeys.register(user.id, form.response, challenge, relyingParty(req)),
    );
    if (ended) await keepOnlyThisSession(req, user.id, ended, 'passkey');
    res.status(201).json(await accounts.protection(user.id));
  });

  router.delete('/api/passkeys/:id', deps.signInLimiter, async (req, res) => {
    const user = await requireUser(req);
    await accounts.removePasskey(user.id, String(req.params.id), proofOf(req, parse(currentPasswordForm, req.body).currentPassword));
    res.json(await accounts.protection(user.id));
  });

  router.post('/api/passkey-login/options', deps.signInLimiter, async (req, res) => {
    const { name } = parse(nameForm, req.body);
    const userId = await accounts.idOfName(name);
    const options = await passkeys.authenticationOptions(userId, relyingParty(req));
    req.session.passkeyChallenge = options.challenge;
    req.session.passkeyUserId = userId;
    res.json(options);
  });

  router.post('/api/passkey-login', deps.signInLimiter, async (req, res) => {
    const userId = req.session.passkeyUserId;
    const challenge = takeChallenge(req);
    if (!userId) throw new ChatError('PASSKEY_FAILED', 'The passkey was not accepted: start again');
    const { user, sessionEpoch } = await passkeys.authenticate(userId, parse(ceremonyAnswer, req.body).response, challenge, relyingParty(req));
    await startSession(req, user, sessionEpoch, 'passkey');
    res.status(201).json({ user, server: deps.serverInfo() });
  });

  return { router, currentUser, requireUser };
}

/** A challenge answers one ceremony only: it is removed from the session as it is read. */
function takeChallenge(req: Request): string {
  const challenge = req.session.passkeyChallenge;
  delete req.session.passkeyChallenge;
  if (!challenge) throw new ChatError('PASSKEY_FAILED', 'The passkey was not accepted: start again');
  return challenge;
}
