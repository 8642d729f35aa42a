/**
 * Scenario 14, the back/forward cache: a demo window is navigated away and back, and
 * really restored from Chromium's cache (its JavaScript heap survives); meanwhile
 * another window rotated. The restored window re-reads and converges without a
 * refresh request of its own.
 *
 * Playwright starts Chromium with --disable-back-forward-cache; this file lifts it.
 * Chromium evicts a cached page whose open BroadcastChannel receives a message
 * (reason `BroadcastChannelOnMessage`), which is why the coordinator closes its
 * channel on `pagehide` and reopens it on `pageshow`.
 */
import type { CDPSession, Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/paths.js';
import { expect, test } from './support/fixtures.js';

declare global {
  interface Window {
    /** Set before navigating away: only a page restored from the cache still has it. */
    bfcacheMarker?: string;
    pageshows?: boolean[];
  }
}

test.use({
  // Long-lived access tokens: nothing but the restore itself may make the window re-read.
  serverOptions: { accessTokenTtlSeconds: 600 },
  launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--disable-back-forward-cache'] },
});

/** Why Chromium did not restore a navigation from the back/forward cache, as the DevTools protocol reports it. */
async function watchBfcache(cdp: CDPSession): Promise<{ notRestored: string[]; restored: () => boolean }> {
  const notRestored: string[] = [];
  let restored = false;
  await cdp.send('Page.enable');
  cdp.on('Page.backForwardCacheNotUsed', (event) => notRestored.push(...event.notRestoredExplanations.map((e) => `${e.type}: ${e.reason}`)));
  cdp.on('Page.frameNavigated', (event) => {
    if (event.type === 'BackForwardCacheRestore') restored = true;
  });
  return { notRestored, restored: () => restored };
}

async function goAwayAndBack(page: Page, whileAway: () => Promise<void>): Promise<void> {
  const away = new URL(page.url());
  away.searchParams.set('session', 'elsewhere'); // another page of the app, same origin
  await page.goto(away.href);
  await page.evaluate(() => window.tokenherdDemo.ready);
  await whileAway();
  await page.goBack({ waitUntil: 'commit' });
}

test('a window restored from the back/forward cache re-reads the generation rotated meanwhile and sends no request', async ({ app, oauth, context }) => {
  const [cached, other] = (await app.open(2)) as [Page, Page];
  await app.signIn(cached);
  await Promise.all([cached, other].map((page) => app.waitForStatus(page, 'signed-in')));
  const before = await cached.evaluate(() => window.tokenherdDemo.coordinator.getState().generation);
  const bfcache = await watchBfcache(await context.newCDPSession(cached));
  await cached.evaluate(() => {
    window.bfcacheMarker = 'kept';
    window.pageshows = [];
    addEventListener('pageshow', (event) => window.pageshows!.push(event.persisted));
  });
  oauth.resetStats();

  await goAwayAndBack(cached, async () => {
    const rotated = await other.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
    expect(rotated.ok).toBe(true);
  });

  await expect.poll(() => bfcache.restored() || bfcache.notRestored.length > 0, { timeout: 15_000 }).toBe(true);
  expect(bfcache.notRestored, 'why Chromium did not restore the page from the back/forward cache').toEqual([]);
  expect(await cached.evaluate(() => window.pageshows)).toEqual([true]);
  expect(await cached.evaluate(() => window.bfcacheMarker)).toBe('kept');
  // Converges on its own, before anything asks it for a token: the restore made it re-read.
  await cached.waitForFunction((g) => window.tokenherdDemo.coordinator.getState().generation === g, before + 1, { timeout: 10_000 });
  const results = await Promise.all([cached, other].map((page) => page.evaluate(() => window.tokenherdDemo.token())));
  await app.sharedToken(results);
  expect(await cached.evaluate(() => window.tokenherdDemo.coordinator.getState().refreshRequests)).toBe(0);
  expect(oauth.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1, invalidGrant: 0, grantsRevoked: 0 });
  const adopted = await cached.evaluate(() => window.tokenherdDemo.events.filter((e) => e.type === 'session-changed').map((e) => e.type === 'session-changed' && e.change));
  expect(adopted.at(-1)).toBe('adopted');
});
