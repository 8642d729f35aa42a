/**
 * The desktop app's sign-in, whole: the window's `signInWithUserAgent` builds the request (PKCE,
 * state), the main process's `signInWithSystemBrowser` listens on a loopback port and opens the
 * "system browser" (a second Chromium context, which shares nothing with the app's), the user
 * signs in on the embedded oidc-provider's real pages, and the window redeems the code.
 */
import { createServer } from 'node:http';
import { expect } from '@playwright/test';
import { DEFAULT_SIGN_IN_REDIRECT } from '../src/main/sign-in.js';
import { signInWithSystemBrowser } from '../src/desktop/loopback-sign-in.js';
import { logInAndConsent, status, test } from './sign-in-page/fixtures.js';

test.use({ redirectUris: [DEFAULT_SIGN_IN_REDIRECT] });

test('system browser + loopback redirect: the listener gets the code at a random port, the window redeems it, every window is signed in', async ({ browser, open, oauth }) => {
  const [page, other] = [await open(), await open()];
  const systemBrowser = await browser.newContext();
  const tab = await systemBrowser.newPage();
  const callbacks: string[] = [];
  await page.exposeFunction('tokenherdTestSystemBrowser', async (authorizationUrl: string) => {
    const callback = await signInWithSystemBrowser(
      { createServer, openExternal: async (url) => void tab.goto(url).catch(() => undefined) },
      { authorizationUrl, timeoutMs: 30_000 },
    );
    callbacks.push(callback);
    return callback;
  });
  const result = page.evaluate(() => window.signInPage.systemBrowser());
  await tab.waitForURL((url) => url.origin === oauth.issuer);
  await logInAndConsent(tab);
  await tab.waitForURL((url) => url.hostname === '127.0.0.1' && url.pathname === '/tokenherd-desktop/callback');
  await expect(tab.locator('h1')).toHaveText('Signed in');
  expect(await result).toEqual({ ok: true });

  const callback = new URL(callbacks[0]!);
  expect(Number(callback.port)).toBeGreaterThan(0);
  expect(await status(page)).toBe('signed-in');
  const token = await page.evaluate(() => window.signInPage.token());
  expect(await oauth.accessTokenValid(token.ok ? String(token.value) : '')).toBe(true);
  await other.waitForFunction(() => window.signInPage.coordinator.getState().status === 'signed-in');
  // The listener answered once and closed: the same redirect again reaches nothing.
  await expect(fetch(callback)).rejects.toThrow();
  await systemBrowser.close();
});
