import type { ClusterView } from '../src/shared/cluster';
import { signIn } from './helpers/client';
import { configProblems } from './helpers/config';
import { startServer, type TestServer } from './helpers/server';

/** Who may read GET /api/cluster, and what each one sees. */
const TOKEN = 'operator-token-for-tests-0123456789';

describe('access to the cluster view', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startServer({ env: { OPERATOR_TOKEN: TOKEN } });
  });
  afterAll(() => app.close());

  const get = (headers: Record<string, string> = {}) => fetch(`${app.url}/api/cluster`, { headers });

  test('without a session or token: 401 UNAUTHORIZED', async () => {
    const res = await get();
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
  });

  test('a signed-in person sees counts, never the operator details', async () => {
    const { cookie } = await signIn(app.url, 'Dana');
    const res = await get({ cookie });
    expect(res.status).toBe(200);
    const view = (await res.json()) as ClusterView;
    expect(view.access).toBe('member');
    expect(view.replicas).toHaveLength(1);
    expect(view.replicas[0]!.id).toBe(view.servedBy);
    expect(view.replicas[0]).not.toHaveProperty('operator');
    // Counts only: no name of anyone (the viewer's included) anywhere in the answer.
    expect(JSON.stringify(view)).not.toContain('Dana');
  });

  test('the operator token shows the details too', async () => {
    const res = await get({ authorization: `Bearer ${TOKEN}` });
    expect(res.status).toBe(200);
    const view = (await res.json()) as ClusterView;
    expect(view.access).toBe('operator');
    expect(view.replicas[0]!.operator).toEqual({
      brokerTarget: 'in-process',
      nodeVersion: process.version,
      pid: process.pid,
      heapUsedBytes: expect.any(Number),
    });
  });

  test('a wrong token is refused, even with a session', async () => {
    const { cookie } = await signIn(app.url, 'Eve');
    for (const authorization of [`Bearer ${TOKEN}x`, 'Bearer short', TOKEN]) {
      const res = await get({ authorization, cookie });
      expect({ authorization, status: res.status }).toEqual({ authorization, status: 401 });
    }
  });

  test('a session ended by "sign out everywhere" is refused like everywhere else, even while its record survives', async () => {
    // The epoch is raised in the store, as the replica where the person signed out everywhere does;
    // the session records stay, as they would where deleting them failed or has not happened yet.
    const ended = async (name: string) => {
      const { cookie, user } = await signIn(app.url, name);
      await app.store.users.endSessions(user.id);
      return cookie;
    };
    const res = await get({ cookie: await ended('Gus') });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    const page = await (await fetch(`${app.url}/cluster`, { headers: { cookie: await ended('Hal') } })).text();
    expect(page).toContain('data-signed-in="false"');
  });

  test('the page itself loads for anyone (it asks for a sign-in or token when the data is refused)', async () => {
    const res = await fetch(`${app.url}/cluster`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/static/build/cluster.js');
  });
});

test('without OPERATOR_TOKEN a Bearer token is refused', async () => {
  const app = await startServer();
  try {
    const res = await fetch(`${app.url}/api/cluster`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(401);
  } finally {
    await app.close();
  }
});

test('OPERATOR_TOKEN: too short stops boot, and the message never repeats the value', () => {
  const problems = configProblems({ OPERATOR_TOKEN: 'tiny-secret' });
  expect(problems).toEqual(['OPERATOR_TOKEN is invalid: expected at least 16 characters']);
});
