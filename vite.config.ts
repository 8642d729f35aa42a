import { defineConfig } from 'vite';

// The demo window (dev/demo) is also the page the browser tests drive.
// `npm start` serves it; the tests build it once to e2e/.harness.
export default defineConfig({
  root: 'dev/demo',
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1' },
  build: { outDir: '../../dist/demo', emptyOutDir: true, target: 'es2022' },
  logLevel: 'warn',
});
