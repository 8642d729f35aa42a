/**
 * The browser sign-in helpers (src/renderer/sign-in.ts) in Chromium against the embedded
 * oidc-provider: its real login and consent pages, PKCE, state, and the code exchange.
 */
import { expect } from '@playwright/test';
import { logInAndConsent, status, test } from './sign-in-page/fixtures.js';

test('redirect: login, consent, code exchange; the session reaches a second tab by the broadcast; the callback is redeemed once', async ({ open, origin, oauth }) => {
  const [page, other] = [await open(), await open()];
  expect(await status(other)).toBe('signed-out');
  void page.evaluate(() => void window.signInPage.redirect());
  await page.waitForURL((url) => url.origin === oauth.issuer);
  let callback = '';
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame() && new URL(frame.url()).searchParams.has('code')) callback = frame.url();
  });
  await logInAndConsent(page);
  await page.waitForURL((url) => url.origin === origin);
  expect(await page.evaluate(() => window.signInPage.completed)).toEqual({ ok: true, value: true });
  expect(new URL(page.url()).searchParams.has('code')).toBe(false);
  expect(new URL(callback).searchParams.get('state')).not.toBeNull();

  const token = await page.evaluate(() => window.signInPage.token());
  expect(token.ok).toBe(true);
  expect(await oauth.accessTokenValid(token.ok ? String(token.value) : '')).toBe(true);
  // The other tab learns of the sign-in from the channel, with no reload, and uses the same token without a refresh.
  await other.waitForFunction(() => window.signInPage.coordinator.getState().status === 'signed-in');
  expect(await other.evaluate(() => window.signInPage.token())).toEqual(token);
  expect(oauth.stats().refreshRequests).toBe(0);

  // The state and verifier were taken once: the same callback again is refused and stores nothing new.
  const generation = await page.evaluate(() => window.signInPage.coordinator.getState().generation);
  await page.goto(callback);
  expect(await page.evaluate(() => window.signInPage.completed)).toMatchObject({ ok: false, code: 'SIGN_IN_FAILED' });
  expect(await page.evaluate(() => window.signInPage.coordinator.getState().generation)).toBe(generation);
  expect(page.url()).not.toContain('code=');
});

test('redirect: a callback whose state is not the one this tab sent is refused before any code exchange', async ({ open, origin, oauth }) => {
  const page = await open();
  const tokenRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url() === oauth.tokenEndpoint) tokenRequests.push(request.method());
  });
  // The provider gets another state than the one this tab sent: as if an attacker's authorization response came to this page (CSRF).
  await page.route(
    (url) => url.origin === oauth.issuer && url.pathname === '/auth',
    (route) => {
      const forged = new URL(route.request().url());
      forged.searchParams.set('state', 'forged-state');
      return route.continue({ url: forged.href });
    },
  );
  void page.evaluate(() => void window.signInPage.redirect());
  await page.waitForURL((url) => url.origin === oauth.issuer);
  await logInAndConsent(page);
  await page.waitForURL((url) => url.origin === origin);
  expect(await page.evaluate(() => window.signInPage.completed)).toMatchObject({ ok: false, code: 'SIGN_IN_FAILED' });
  expect(await status(page)).toBe('signed-out');
  expect(page.url()).not.toContain('code=');
  expect(tokenRequests).toEqual([]);
});

test('redirect: "Cancel" at the provider comes back as access_denied, which is SIGN_IN_CANCELLED; nothing is stored', async ({ open, origin, oauth }) => {
  const page = await open();
  void page.evaluate(() => void window.signInPage.redirect());
  await page.waitForURL((url) => url.origin === oauth.issuer);
  await page.getByText('[ Cancel ]').click();
  await page.waitForURL((url) => url.origin === origin);
  expect(await page.evaluate(() => window.signInPage.completed)).toMatchObject({ ok: false, code: 'SIGN_IN_CANCELLED' });
  expect(await status(page)).toBe('signed-out');
});

test('popup: the page stays, the popup signs in and is closed, every tab is signed in', async ({ open, context, oauth }) => {
  const [page, other] = [await open(), await open()];
  const before = page.url();
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#popup')]);
  await popup.waitForURL((url) => url.origin === oauth.issuer);
  await logInAndConsent(popup);
  expect(await page.evaluate(() => window.signInPage.popupResult())).toEqual({ ok: true });
  await expect.poll(() => popup.isClosed()).toBe(true);
  expect(page.url()).toBe(before);
  expect(await status(page)).toBe('signed-in');
  await other.waitForFunction(() => window.signInPage.coordinator.getState().status === 'signed-in');
});

test('popup: closing it is SIGN_IN_CANCELLED, and nothing is stored', async ({ open, context, oauth }) => {
  const page = await open();
  const [popup] = await Promise.all([context.waitForEvent('page'), page.click('#popup')]);
  await popup.waitForURL((url) => url.origin === oauth.issuer);
  await popup.close();
  expect(await page.evaluate(() => window.signInPage.popupResult())).toMatchObject({ ok: false, code: 'SIGN_IN_CANCELLED' });
  expect(await status(page)).toBe('signed-out');
});

test('redirect with DPoP: the code exchange is bound to the session key, which the refreshes then prove', async ({ open, origin, oauth }) => {
  const page = await open({ dpop: '1' });
  void page.evaluate(() => void window.signInPage.redirect());
  await page.waitForURL((url) => url.origin === oauth.issuer);
  await logInAndConsent(page);
  await page.waitForURL((url) => url.origin === origin);
  expect(await page.evaluate(() => window.signInPage.completed)).toEqual({ ok: true, value: true });
  expect(await page.evaluate(() => window.signInPage.coordinator.getAccessToken({ forceRefresh: true }).then(() => 'refreshed'))).toBe('refreshed');
  // One key: the sign-in's token response and the refresh's were both bound to it.
  expect(oauth.dpopStats().jkts).toHaveLength(1);
  expect(oauth.stats().refreshSucceeded).toBe(1);
});
