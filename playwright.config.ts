import { defineConfig } from '@playwright/test';

// One runner for everything: `unit` runs the pure core and Node-side logic in
// Node; `chromium` drives Debian Chromium (or CHROMIUM_PATH) against the real
// embedded OAuth server.
export default defineConfig({
  forbidOnly: true,
  retries: 0,
  fullyParallel: false,
  workers: process.env['CI'] ? 2 : undefined,
  timeout: 60_000,
  reporter: [['list'], ['./e2e/support/summary-reporter.ts']],
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
    },
  ],
});
