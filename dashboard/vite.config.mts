import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The dashboard: Preact compiled by Vite's own JSX transform (esbuild's automatic runtime), so
 * no framework plugin (and no Babel) is needed. `npm run build:dashboard` writes dashboard/dist, which the local
 * runtime serves at / and the CDK construct deploys to S3 + CloudFront.
 *
 * `npm run dev:dashboard` serves it with hot reload and proxies /v1 to a running `npm start`
 * (WEBHOOKS_LOCAL_URL, default http://127.0.0.1:3000).
 */
export default defineConfig({
  root,
  // Absolute asset URLs: deep links such as /settings/webhooks/wh_1/edit load /assets/… correctly.
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // The contract and sample payloads are imported from ../lambdas/shared.
    sourcemap: true,
  },
  server: {
    host: '127.0.0.1',
    fs: { allow: ['..'] },
    proxy: { '/v1': process.env.WEBHOOKS_LOCAL_URL ?? 'http://127.0.0.1:3000' },
  },
});
