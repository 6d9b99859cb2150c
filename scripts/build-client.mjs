// Bundles the browser client (socket.io-client included: the server does not serve it) into public/build/app.js,
// and the cluster view's script into public/build/cluster.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

await build({
  absWorkingDir: root,
  entryPoints: { app: 'src/client/main.ts', cluster: 'src/client/cluster.ts' },
  outdir: 'public/build',
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  tsconfig: 'src/client/tsconfig.json',
  logLevel: 'warning',
});
