/**
 * `npm run build:electron`: everything Electron loads, as JavaScript.
 * - dist/demo: the app pages (the demo window), served by the app scheme;
 * - dist/electron/main.cjs: the main process (CommonJS, `electron` and Node built-ins external);
 * - dist/electron/preload-app.cjs, preload-embedded.cjs: one self-contained file each,
 *   because a sandboxed preload can require nothing but `electron`.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = `${root}dist/electron`;

async function bundle(entry: string, fileName: string, target: string): Promise<void> {
  await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      target,
      minify: false,
      sourcemap: true,
      lib: { entry: `${root}${entry}`, formats: ['cjs'], fileName: () => fileName },
      rolldownOptions: { external: ['electron', /^node:/] },
    },
  });
}

/** `pages: false` skips dist/demo, for development, where the vite dev server serves the pages. */
export async function buildElectron(options: { readonly pages?: boolean } = {}): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  if (options.pages !== false) await build({ configFile: `${root}vite.config.ts`, root: `${root}dev/demo` });
  await bundle('src/main/main.ts', 'main.cjs', 'node20');
  await bundle('src/preload/app.ts', 'preload-app.cjs', 'es2022');
  await bundle('src/preload/embedded.ts', 'preload-embedded.cjs', 'es2022');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildElectron();
  console.log(`built ${outDir} (main, preloads) and dist/demo (app pages)`);
}
