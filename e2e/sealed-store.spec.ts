/**
 * Refresh tokens sealed at rest, in Chromium with the real IndexedDB: the app
 * pages' sealed store calls the main process's real sealing handlers (IPC
 * listener with its sender checks, the main sealer) in this test process,
 * through the app preload's bridge behind two bindings; only safeStorage is a
 * stand-in (AES-GCM with a key per "machine").
 */
import type { BrowserContext, Page } from '@playwright/test';
import { handleIpc } from '../src/main/ipc.js';
import { createMainSealer } from '../src/main/sealing.js';
import { createFakeSafeStorage } from '../test/electron/test-support.js';
import { SEALED_PREFIX } from '../src/oauth/sealed-store.js';
import { createMainSide } from './support/desktop.js';
import { SESSION_KEY, expect, test } from './support/fixtures.js';
import { putRecord, readRecord } from './support/idb.js';

// Long enough that a token checked right after a loaded machine's refresh has not expired yet.
test.use({ serverOptions: { accessTokenTtlSeconds: 5 } });

/** One "machine": its keychain, and the main process's seal/unseal handlers for app pages of `appOrigin`. */
async function installSealing(context: BrowserContext, appOrigin: string) {
  const main = createMainSide(appOrigin);
  const sealer = createMainSealer(createFakeSafeStorage(), 'linux');
  handleIpc(main.ipcMain, 'tokenherd:seal', { trust: main.appOnly, handle: ({ text }) => ({ sealed: sealer.seal(text) }) });
  handleIpc(main.ipcMain, 'tokenherd:unseal', { trust: main.appOnly, handle: ({ sealed }) => ({ text: sealer.unseal(sealed) }) });
  await context.exposeBinding('tokenherdTestSeal', (caller, text: string) => main.bridgeFor(caller.page, caller.frame.url()).seal(text));
  await context.exposeBinding('tokenherdTestUnseal', (caller, sealed: string) => main.bridgeFor(caller.page, caller.frame.url()).unseal(sealed));
  return sealer;
}

/** The raw record, as anything reading the profile folder would find it. */
type RawRecord = { generation: number; tokens?: { refreshToken?: string } } | undefined;
const rawRecord = async (page: Page) => (await readRecord(page, SESSION_KEY)) as RawRecord;

test('N pages with sealing: one refresh per expiry, IndexedDB only ever holds sealed refresh tokens', async ({ app, oauth, context, origin }) => {
  test.setTimeout(90_000);
  const sealer = await installSealing(context, origin);
  const pages = await app.open(6, { query: { sealer: 'binding' } });
  const session = await oauth.mintSession();
  const issued = new Set([String(session['refresh_token'])]);
  await pages[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), session);
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
  for (let expiry = 1; expiry <= 3; expiry++) {
    await app.sharedToken(await app.tokensAtExpiry(pages));
    expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
    const raw = await rawRecord(pages[0]!);
    expect(raw?.generation).toBe(1 + expiry);
    const sealed = raw?.tokens?.refreshToken ?? '';
    expect(sealed.startsWith(SEALED_PREFIX)).toBe(true);
    // This machine's keychain opens it: the newly rotated refresh token, which the raw record never shows.
    const rotated = sealer.unseal(sealed.slice(SEALED_PREFIX.length));
    expect(issued.has(rotated)).toBe(false);
    issued.add(rotated);
    for (const token of issued) expect(JSON.stringify(raw)).not.toContain(token);
  }
  expect(issued.size).toBe(4);
  expect(oauth.stats().grantsRevoked).toBe(0);
});

test('a profile copied to another machine cannot refresh: one clear SESSION_EXPIRED, and no refresh token is sent', async ({ app, oauth, context, browser, origin }) => {
  await installSealing(context, origin);
  const [home] = await app.open(1, { query: { sealer: 'binding' } });
  await app.signIn(home!);
  const copied = await rawRecord(home!);
  expect(copied?.tokens?.refreshToken?.startsWith(SEALED_PREFIX)).toBe(true);

  // Another machine: its own storage partition and its own keychain key; the record is copied over as bytes.
  const elsewhere = await browser.newContext();
  try {
    await installSealing(elsewhere, origin);
    const [page] = await app.open(1, { context: elsewhere, query: { sealer: 'binding' } });
    await putRecord(page!, copied);
    await page!.evaluate(() => window.tokenherdDemo.coordinator.reload());
    expect(await page!.evaluate(() => window.tokenherdDemo.coordinator.getState().status)).toBe('signed-in'); // the access token still works
    const before = oauth.stats().refreshRequests;
    const [result] = await app.tokensAtExpiry([page!]);
    expect(result).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(oauth.stats().refreshRequests).toBe(before);
    expect(oauth.stats().grantsRevoked).toBe(0); // the real session at home is untouched
    expect(await home!.evaluate(() => window.tokenherdDemo.token({ minValiditySeconds: 0 }))).toMatchObject({ ok: true });
  } finally {
    await elsewhere.close();
  }
});
