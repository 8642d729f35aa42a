import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The contestants, all loaded by one page (window.html) from one preview server (one origin), built to bench/out/pages. */
export const CONTESTANTS = ['tokenherd', 'naive', 'oidc-client-ts', 'okta-auth-js'] as const;

const pages = fileURLToPath(new URL('pages/', import.meta.url));

export default defineConfig({
  root: pages,
  build: {
    outDir: fileURLToPath(new URL('out/pages', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: { input: `${pages}window.html` },
  },
  preview: { host: '127.0.0.1' },
  logLevel: 'warn',
});
