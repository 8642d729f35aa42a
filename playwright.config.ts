import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/support/paths.js';
import type { EngineName } from './e2e/conformance/driver.js';

const chromium = { browserName: 'chromium' as const, launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS } };

// One runner for everything: `unit` runs the pure core and Node-side logic in
// Node; `chromium` drives Debian Chromium (or CHROMIUM_PATH) against the real
// embedded OAuth server; `conformance-<engine>` runs the invariants' suite, written
// once against e2e/conformance/driver.ts, in Chromium, Firefox and WebKit.
export default defineConfig<object, { engineName: EngineName }>({
  forbidOnly: true,
  retries: 0,
  fullyParallel: false,
  ...(process.env['CI'] && { workers: 2 }),
  timeout: 60_000,
  reporter: [['list'], ['./e2e/support/summary-reporter.ts']],
  globalSetup: './e2e/support/global-setup.ts',
  projects: [
    {
      name: 'unit',
      testDir: '.',
      testMatch: ['src/**/*.test.ts', 'dev/**/*.test.ts', 'test/**/*.test.ts'],
    },
    {
      name: 'chromium',
      testDir: 'e2e',
      testMatch: '**/*.spec.ts',
      testIgnore: ['chaos/**', 'electron/**', 'node/**'],
      use: chromium,
    },
    ...(['chromium', 'firefox', 'webkit'] as const).map((engineName) => ({
      name: `conformance-${engineName}`,
      testDir: 'e2e/conformance',
      testMatch: '**/*.conformance.ts',
      use: { engineName },
    })),
    {
      // tokenherd/node in separate Node processes against a private PostgreSQL cluster and the embedded OAuth server.
      name: 'node',
      testDir: 'e2e/node',
      testMatch: '**/*.spec.ts',
    },
    {
      // The desktop app in a real Electron; one clear skip where the Electron binary is not installed.
      name: 'electron',
      testDir: 'e2e/electron',
      testMatch: '**/*.spec.ts',
    },
    // Long and random: only with `npm run chaos`.
    ...(process.env['TOKENHERD_CHAOS'] ? [{ name: 'chaos', testDir: 'e2e/chaos', use: chromium }] : []),
  ],
});
