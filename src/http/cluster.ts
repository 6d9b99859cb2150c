import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { ClusterExchange } from '../cluster';
import { ChatError } from '../services/errors';
import type { ServerInfo, UserDTO } from '../shared/protocol';
import type { ClusterView } from '../shared/cluster';

export interface ClusterRoutesDeps {
  cluster: Pick<ClusterExchange, 'view'>;
  serverInfo: () => ServerInfo;
  /** The signed-in person as every other route sees them (null once "sign out everywhere" ended the session). */
  currentUser: (req: Request) => Promise<UserDTO | null>;
  /** OPERATOR_TOKEN: shows the details too; null when unset (then only members read the view). */
  operatorToken: string | null;
}

/**
 * GET /cluster (the live page) and GET /api/cluster (its data). Needs the
 * session middleware before it. The data is for signed-in people (counts
 * only) or for `Authorization: Bearer <OPERATOR_TOKEN>` (details too).
 */
export function createClusterRoutes({ cluster, serverInfo, currentUser, operatorToken }: ClusterRoutesDeps): Router {
  const router = Router();
  const expected = operatorToken === null ? null : digest(operatorToken);

  const accessOf = async (req: Request): Promise<ClusterView['access']> => {
    const header = req.get('authorization');
    if (header !== undefined) {
      const token = /^Bearer (.+)$/i.exec(header)?.[1]?.trim();
      // Equal-length digests, compared in constant time: the answer says nothing about the token.
      if (token && expected && timingSafeEqual(digest(token), expected)) return 'operator';
      throw new ChatError('UNAUTHORIZED', 'Invalid operator token');
    }
    if (await currentUser(req)) return 'member';
    throw new ChatError('UNAUTHORIZED', 'Sign in, or send the operator token');
  };

  // The page holds no figures: it asks /api/cluster, with the session or a token typed in.
  router.get('/cluster', async (req, res) => {
    res.render('cluster', { server: serverInfo(), signedIn: (await currentUser(req)) !== null });
  });

  router.get('/api/cluster', async (req, res) => {
    const view = cluster.view(await accessOf(req));
    res.set('Cache-Control', 'no-store').json(view);
  });

  return router;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
