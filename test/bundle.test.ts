import { expect, test } from '@playwright/test';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { OPT_IN_MARKERS, bundleQuickStart } from '../scripts/quick-start-bundle.js';

// Pay for what you use (issue 17): the quick start, bundled by vite from the built package as an
// app's production build would, carries no DPoP or sealing code; an app that opts in to both does.
// scripts/check-package.sh runs the same check against the packed tarball.

const ROOT = resolve(import.meta.dirname, '..');
let project: string;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  project = await mkdtemp(join(tmpdir(), 'tokenherd-bundle-'));
  const installed = join(project, 'node_modules', 'tokenherd');
  await mkdir(installed, { recursive: true });
  // The package as built: its exports map over dist, its dependencies beside it.
  await promisify(execFile)(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(installed, 'dist'), '--declaration', 'false']);
  await copyFile(join(ROOT, 'package.json'), join(installed, 'package.json'));
  await symlink(join(ROOT, 'node_modules'), join(installed, 'node_modules'));
  await copyFile(join(ROOT, 'examples/quick-start.ts'), join(project, 'quick-start.ts'));
  await writeFile(
    join(project, 'opted-in.ts'),
    `import { createDpop, createTokenCoordinator, sealWith } from 'tokenherd';
const dpop = createDpop({ sessionKey: 'k', databaseName: 'tokenherd' });
const sealing = sealWith({ seal: async (text) => text, unseal: async (text) => text });
export const coordinator = createTokenCoordinator({ sessionKey: 'k', issuer: 'https://as.example', client: { client_id: 'app' }, dpop, sealing });
`,
  );
});
test.afterAll(() => rm(project, { recursive: true, force: true }));

test('the quick start bundles no DPoP or sealing code; an app that opts in to both bundles both', async () => {
  const quickStart = await bundleQuickStart(project);
  console.log(`quick start, vite production build: ${(quickStart.code.length / 1024).toFixed(1)} KB minified, ${(quickStart.gzipBytes / 1024).toFixed(1)} KB gzip`);
  expect(quickStart.found).toEqual([]);
  const optedIn = await bundleQuickStart(project, 'opted-in.ts');
  console.log(`with dpop and sealing: ${(optedIn.gzipBytes / 1024).toFixed(1)} KB gzip`);
  expect(optedIn.found).toEqual(Object.entries(OPT_IN_MARKERS).flatMap(([feature, markers]) => markers.map((marker) => `${feature}: ${marker}`)));
  expect(optedIn.gzipBytes).toBeGreaterThan(quickStart.gzipBytes);
});
