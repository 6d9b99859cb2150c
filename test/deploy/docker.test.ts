import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './tools';

/** The Dockerfile and .dockerignore, read as Docker would (no engine here to build them). */

const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
const instructions = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
const stages = text.split(/^FROM /m).slice(1).map((s) => `FROM ${s}`);
const runtime = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('multi-stage: build, production dependencies, runtime on the official Node 24 Debian slim image', () => {
  const froms = instructions.filter((l) => l.startsWith('FROM '));
  expect(froms).toEqual(['FROM ${NODE_IMAGE} AS build', 'FROM ${NODE_IMAGE} AS deps', 'FROM ${NODE_IMAGE} AS runtime']);
  expect(instructions).toContain('ARG NODE_IMAGE=node:24-bookworm-slim');
  expect(pkg.engines.node).toMatch(/^>=20\./);
  expect(stages[0]).toMatch(/RUN npm ci .*\n[\s\S]*RUN npm run build/);
  expect(stages[1]).toMatch(/RUN npm ci --omit=dev/);
  // The runtime gets compiled output and production modules only, never sources or dev tools.
  expect(runtime).not.toMatch(/RUN npm (ci|install)/);
  expect(runtime.match(/^COPY .*/gm)).toEqual([
    'COPY --from=deps /app/node_modules ./node_modules',
    'COPY --from=build /app/dist ./dist',
    'COPY --from=build /app/views ./views',
    'COPY --from=build /app/public ./public',
    'COPY package.json ./',
  ]);
});

test('runtime: non-root, /uploads, port 3000, HEALTHCHECK on /healthz, starts what package.json names', () => {
  expect(runtime).toMatch(/^USER node$/m);
  expect(runtime).toMatch(/chown node:node \/uploads/);
  expect(runtime).toMatch(/STORAGE_VOLUME=\/uploads/);
  expect(runtime).toMatch(/PORT=3000/);
  expect(runtime).toMatch(/NODE_ENV=production/);
  expect(runtime).toMatch(/^EXPOSE 3000$/m);
  expect(runtime).toMatch(/^HEALTHCHECK .*CMD .*\/healthz/m);
  expect(runtime).toContain(`CMD ["node", "${pkg.main}"]`);
  expect(pkg.scripts.start).toBe(`node ${pkg.main}`);
});

test('.dockerignore keeps what the build needs and drops the rest', () => {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  // Docker's matching, enough for these patterns: a path is out when it or a parent matches.
  const toRegExp = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '.*')}(/.*)?$`);
  const ignored = (file: string) => patterns.some((p) => !p.startsWith('!') && toRegExp(p).test(file));
  const needed = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'src/client/main.ts', 'src/client/tsconfig.json', 'scripts/build-client.mjs', 'views/chat.ejs', 'public/favicon.ico'];
  expect(needed.filter(ignored)).toEqual([]);
  const unwanted = ['node_modules/x', '.git/HEAD', 'dist/main.js', 'public/build/app.js', 'uploads/a.png', '.env', 'test/smoke.test.ts', 'k8s/base/app.yaml'];
  expect(unwanted.filter((f) => !ignored(f))).toEqual([]);
});
