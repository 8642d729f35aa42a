import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './e2e/support/paths.js';

// One runner for everything: `unit` runs the pure core and Node-side logic in
// Node; `chromium` drives Debian Chromium (or CHROMIUM_PATH) against the real
// embedded OAuth server.
export default defineConfig({
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
      testMatch: ['src/**/*.test.ts', 'dev/**/*.test.ts'],
    },
    {
      name: 'chromium',
      testDir: 'e2e',
      testMatch: '**/*.spec.ts',
      testIgnore: 'electron/**',
      use: { browserName: 'chromium', launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS } },
    },
    {
      // The desktop app in a real Electron; one clear skip where the Electron binary is not installed.
      name: 'electron',
      testDir: 'e2e/electron',
      testMatch: '**/*.spec.ts',
    },
  ],
});
