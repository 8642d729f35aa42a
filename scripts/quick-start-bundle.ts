/**
 * Pay for what you use: bundles the README's quick start (examples/quick-start.ts) as an app's
 * production build would (vite, minified) against an installed tokenherd, fails if the bundle
 * carries DPoP or sealing code, and prints its size gzipped.
 *
 *   tsx scripts/quick-start-bundle.ts <project>
 *
 * `<project>` holds quick-start.ts and node_modules/tokenherd (scripts/check-package.sh passes
 * its consumer, which installed the packed tarball), so the package resolves as an app's would:
 * through its exports map, to the built files.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

/** Strings that only the opt-in modules hold: finding one means the bundler could not drop them. */
export const OPT_IN_MARKERS = {
  DPoP: [
    'tokenherd:dpop-nonce:', // the shared-nonce lock (src/renderer/dpop.ts)
    'dpop_key_missing', // a refresh without the session's key
    'use_dpop_nonce', // the nonce challenge (src/oauth/dpop-nonce.ts, oauth4webapi's isDPoPNonceError)
    'dpop+jwt', // oauth4webapi's proof maker
  ],
  sealing: [
    'tokenherd-sealed:v1:', // the sealed refresh token's prefix (src/oauth/sealed-store.ts)
    'dropped-sealed-token',
  ],
} as const;

/** `file` of `project` (default the quick start) bundled: its minified code, that code's gzip size, and the markers of opt-in code it holds. */
export async function bundleQuickStart(project: string, file = 'quick-start.ts'): Promise<{ code: string; gzipBytes: number; found: string[] }> {
  const entry = resolve(project, file);
  if (!existsSync(entry) || !existsSync(resolve(project, 'node_modules/tokenherd/package.json'))) {
    throw new Error(`${project} must hold ${file} and node_modules/tokenherd`);
  }
  const output = await build({
    configFile: false,
    root: project,
    logLevel: 'silent',
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      modulePreload: false,
      rolldownOptions: { input: entry, preserveEntrySignatures: 'exports-only' },
    },
  });
  const results = Array.isArray(output) ? output : [output];
  const code = results
    .flatMap((result) => ('output' in result ? result.output : []))
    .flatMap((chunk) => (chunk.type === 'chunk' ? [chunk.code] : []))
    .join('\n');
  if (code === '') throw new Error('vite produced no JavaScript');
  const found = Object.entries(OPT_IN_MARKERS).flatMap(([feature, markers]) => markers.filter((marker) => code.includes(marker)).map((marker) => `${feature}: ${marker}`));
  return { code, gzipBytes: gzipSync(code, { level: 9 }).length, found };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const project = process.argv[2];
  if (project === undefined) throw new Error('usage: tsx scripts/quick-start-bundle.ts <project>');
  const { code, gzipBytes, found } = await bundleQuickStart(project);
  console.log(`quick start bundled with vite: ${(code.length / 1024).toFixed(1)} KB minified, ${(gzipBytes / 1024).toFixed(1)} KB gzip`);
  if (found.length > 0) {
    console.error(`the quick start, which uses neither DPoP nor sealing, bundles their code: ${found.join(', ')}`);
    process.exit(1);
  }
  console.log('no DPoP or sealing code in it');
}
