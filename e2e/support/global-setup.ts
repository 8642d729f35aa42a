import { build } from 'vite';
import { HARNESS_DIR } from './paths.js';

/** Builds the demo page once; every browser test serves this build. */
export default async function globalSetup(): Promise<void> {
  await build({ configFile: 'vite.config.ts', build: { outDir: HARNESS_DIR, emptyOutDir: true } });
}
