/** The sign-in test page (built once per worker), the embedded server, and its login and consent pages. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test as base, type Page } from '@playwright/test';
import { build, preview } from 'vite';
import { startOAuthServer, type OAuthServer } from '../../dev/oauth-server.js';
import type { SignInPageHandle } from './main.js';

declare global {
  interface Window {
    signInPage: SignInPageHandle;
  }
}

export const test = base.extend<{ redirectUris: string[]; oauth: OAuthServer; open: (query?: Record<string, string>) => Promise<Page> }, { origin: string }>({
  origin: [
    async ({}, use) => {
      const outDir = mkdtempSync(join(tmpdir(), 'tokenherd-sign-in-page-'));
      const config = { configFile: false as const, root: 'e2e/sign-in-page', logLevel: 'warn' as const, build: { outDir, emptyOutDir: true, target: 'es2022' } };
      await build(config);
      const server = await preview({ ...config, preview: { host: '127.0.0.1', port: 0 } });
      const url = server.resolvedUrls?.local[0];
      if (!url) throw new Error('the sign-in page preview server has no local URL');
      await use(new URL(url).origin);
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
    { scope: 'worker' },
  ],
  /** Besides the page's own address. */
  redirectUris: [[], { option: true }],
  oauth: async ({ origin, redirectUris }, use) => {
    const server = await startOAuthServer({ redirectUris: [`${origin}/`, ...redirectUris], accessTokenTtlSeconds: 600 });
    await use(server);
    await server.close();
  },
  open: async ({ context, origin, oauth }, use) => {
    await use(async (query = {}) => {
      const page = await context.newPage();
      await page.goto(`${origin}/?${new URLSearchParams({ issuer: oauth.issuer, client_id: oauth.clientId, ...query })}`);
      await page.evaluate(() => window.signInPage.ready);
      return page;
    });
  },
});

/** The embedded server's login page (any name and password) and its consent page. */
export async function logInAndConsent(page: Page): Promise<void> {
  await page.locator('input[name="login"]').fill('octocat');
  await page.locator('input[name="password"]').fill('any password');
  await page.locator('button[type="submit"]').click();
  await page.locator('button[type="submit"]', { hasText: 'Continue' }).click();
}

export const status = (page: Page) => page.evaluate(() => window.signInPage.ready.then(() => window.signInPage.coordinator.getState().status));
