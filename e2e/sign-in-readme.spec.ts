/**
 * README's "Try it in your own app", run as a reader would: the page of examples/try-it (which
 * test/readme.test.ts keeps identical to the README), built with vite, `tokenherd` resolved to
 * the sources, against the embedded server with the page's origin as its redirect URI. The page
 * names the CLI's default issuer; the test serves it with its own server's address instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { build, preview } from 'vite';
import { startOAuthServer } from '../dev/oauth-server.js';
import { logInAndConsent } from './sign-in-page/fixtures.js';

const DEFAULT_ISSUER = 'http://127.0.0.1:9400';

test('the README page: sign in, call the API, a second tab is signed in too', async ({ context }) => {
  const outDir = mkdtempSync(join(tmpdir(), 'tokenherd-try-it-'));
  const config = {
    configFile: false as const,
    root: 'examples/try-it',
    logLevel: 'warn' as const,
    resolve: { alias: { tokenherd: fileURLToPath(new URL('../src/renderer/index.ts', import.meta.url)) } },
    build: { outDir, emptyOutDir: true, target: 'es2022' },
  };
  await build(config);
  const site = await preview({ ...config, preview: { host: '127.0.0.1', port: 0 } });
  const origin = new URL(site.resolvedUrls!.local[0]!).origin;
  const oauth = await startOAuthServer({ redirectUris: [`${origin}/`], accessTokenTtlSeconds: 600 });
  try {
    await context.route(`${origin}/assets/*.js`, async (route) => {
      const response = await route.fetch();
      const script = await response.text();
      expect(script).toContain(DEFAULT_ISSUER);
      await route.fulfill({ response, body: script.replaceAll(DEFAULT_ISSUER, oauth.issuer) });
    });
    const page = await context.newPage();
    await page.goto(`${origin}/`);
    await page.click('#call');
    await expect(page.locator('output')).toContainText('NOT_SIGNED_IN');

    await page.click('#sign-in');
    await page.waitForURL((url) => url.origin === oauth.issuer);
    await logInAndConsent(page);
    await page.waitForURL(`${origin}/`);
    await expect(page.locator('output')).toContainText('"change":"signed-in"');
    await page.click('#call');
    await expect(page.locator('output')).toContainText('userinfo: {"sub":"octocat"}');

    const [other] = await Promise.all([context.waitForEvent('page'), page.click('#open')]);
    // The buttons are in the HTML before the page's module has run and listens to them: wait for it.
    await other.waitForLoadState('load');
    await other.click('#call');
    await expect(other.locator('output')).toContainText('userinfo: {"sub":"octocat"}');
    expect(oauth.stats().refreshRequests).toBe(0);
  } finally {
    await oauth.close();
    await site.close();
    rmSync(outDir, { recursive: true, force: true });
  }
});
