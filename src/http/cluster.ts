import { createHash, timingSafeEqual } from 'node:crypto';
import { Router, type Request } from 'express';
import type { ClusterExchange } from '../cluster';
import { ChatError } from '../services/errors';
import type { ServerInfo } from '../shared/protocol';
import type { ClusterView } from '../shared/cluster';

export interface ClusterRoutesDeps {
  cluster: Pick<ClusterExchange, 'view'>;
  serverInfo: () => ServerInfo;
  /** OPERATOR_TOKEN: shows the details too; null when unset (then only members read the view). */
  operatorToken: string | null;
}

/**
 * GET /cluster (the live page) and GET /api/cluster (its data). Needs the
 * session middleware before it. The data is for signed-in people (counts
 * only) or for `Authorization: Bearer <OPERATOR_TOKEN>` (details too).
 */
export function createClusterRoutes({ cluster, serverInfo, operatorToken }: ClusterRoutesDeps): Router {
  const router = Router();
  const expected = operatorToken === null ? null : digest(operatorToken);

  const accessOf = (req: Request): ClusterView['access'] => {
    const header = req.get('authorization');
    if (header !== undefined) {
      const token = /^Bearer (.+)$/i.exec(header)?.[1]?.trim();
      // Equal-length digests, compared in constant time: the answer says nothing about the token.
      if (token && expected && timingSafeEqual(digest(token), expected)) return 'operator';
      throw new ChatError('UNAUTHORIZED', 'Invalid operator token');
    }
    if (req.session?.userId) return 'member';
    throw new ChatError('UNAUTHORIZED', 'Sign in, or send the operator token');
  };

  // The page holds no figures: it asks /api/cluster, with the session or a token typed in.
  router.get('/cluster', (req, res) => {
    res.render('cluster', { server: serverInfo(), signedIn: Boolean(req.session?.userId) });
  });

  router.get('/api/cluster', (req, res) => {
    const view = cluster.view(accessOf(req));
    res.set('Cache-Control', 'no-store').json(view);
  });

  return router;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
