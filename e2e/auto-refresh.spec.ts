/**
 * Issue 15, auto refresh in Chromium against the real oidc-provider: one window holds the
 * scheduler role (a Web Lock) and refreshes ahead of expiry; the role survives the page
 * lifecycle (close, navigation, hidden, frozen, back/forward cache, sleep). Every test
 * checks one request per rotation (each refresh token sent once) and, from each window's own
 * sampler (`watch=50`: getAccessToken every 50 ms), no call that waited and no instant at
 * which a window held an expired token.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './support/paths.js';
import { expect, test, type App } from './support/fixtures.js';
import type { OAuthServer } from '../dev/oauth-server.js';

test.use({
  /** 6 s tokens: the holder refreshes 1.5 to 2.25 s before expiry, the watchers 0.4 to 0.75 s before it. */
  serverOptions: { accessTokenTtlSeconds: 6 },
  // Playwright starts Chromium with --disable-back-forward-cache; lifted here (as in bfcache.spec.ts), where the cache matters.
  launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--disable-back-forward-cache'] },
});

const AUTO = { auto: '1', watch: '50' };
const state = (page: Page) => page.evaluate(() => window.tokenherdDemo.coordinator.getState());

async function openAuto(app: App, count: number, context?: BrowserContext): Promise<Page[]> {
  const pages = await app.open(count, { query: AUTO, ...(context && { context }) });
  await app.signIn(pages[0]!);
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
  return pages;
}

/** The one page that holds the role, once exactly one does. */
async function holderOf(pages: Page[]): Promise<Page> {
  let holders: Page[] = [];
  await expect
    .poll(async () => {
      const roles = await Promise.all(pages.map(async (page) => (await state(page)).holdsRole));
      holders = pages.filter((_, index) => roles[index]);
      return holders.length;
    })
    .toBe(1);
  return holders[0]!;
}

/** Resolves when `page` holds generation `generation` or a later one. */
const reach = (page: Page, generation: number) =>
  page.waitForFunction((g) => window.tokenherdDemo.coordinator.getState().generation >= g, generation, { timeout: 20_000 });

/** No window waited or held an expired token, and every rotation cost exactly one request that succeeded. */
async function expectNeverWaited(oauth: OAuthServer, pages: Page[]): Promise<void> {
  const watches = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.watch)));
  const sum = (key: 'calls' | 'waited' | 'expiredSamples') => watches.reduce((n, w) => n + w[key], 0);
  expect(sum('calls')).toBeGreaterThan(0);
  expect(watches.flatMap((w) => w.slow)).toEqual([]);
  expect({ waited: sum('waited'), expiredSamples: sum('expiredSamples') }).toEqual({ waited: 0, expiredSamples: 0 });
  const generation = Math.max(...(await Promise.all(pages.map(async (page) => (await state(page)).generation))));
  const rotations = generation - 1;
  expect(oauth.stats()).toMatchObject({ refreshRequests: rotations, refreshSucceeded: rotations, invalidGrant: 0, grantsRevoked: 0, maxConcurrentRefreshes: 1 });
}

test('4 windows through 3 expiries: one holder refreshes ahead, one request per expiry, nobody waits', async ({ app, oauth }) => {
  const pages = await openAuto(app, 4);
  const holder = await holderOf(pages);
  await reach(pages[0]!, 4);
  expect(await holderOf(pages)).toBe(holder);
  expect((await state(holder)).refreshRequests).toBe(3);
  await expectNeverWaited(oauth, pages);
});

test('the holder closes: another window takes the role and the next refresh is on time', async ({ app, oauth }) => {
  const pages = await openAuto(app, 3);
  const holder = await holderOf(pages);
  await holder.close();
  const rest = pages.filter((page) => page !== holder);
  const next = await holderOf(rest);
  const { generation } = await state(next);
  await reach(next, generation + 2);
  await expectNeverWaited(oauth, rest);
});

test('the holder navigates away: the role is freed with its page and taken by another window', async ({ app, oauth, origin }) => {
  const pages = await openAuto(app, 3);
  const holder = await holderOf(pages);
  await holder.goto(`${origin}/?session=elsewhere&poll=0`);
  const rest = pages.filter((page) => page !== holder);
  const next = await holderOf(rest);
  await reach(next, (await state(next)).generation + 2);
  await expectNeverWaited(oauth, rest);
});

/** Emulates the page visibility the browser reports, and its event, as a tab switch would. */
const setVisibility = (page: Page, visibility: 'hidden' | 'visible') =>
  page.evaluate((v) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v });
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => v === 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
  }, visibility);

test('a hidden holder hands the role to a visible window; a window that becomes visible takes it back', async ({ app, oauth, context }) => {
  const pages = await openAuto(app, 3);
  const holder = await holderOf(pages);
  const cdp = await context.newCDPSession(holder);
  await cdp.send('Emulation.setFocusEmulationEnabled', { enabled: true });
  await setVisibility(holder, 'hidden');
  const visible = await holderOf(pages);
  expect(visible).not.toBe(holder);
  await reach(visible, (await state(visible)).generation + 1);
  await setVisibility(holder, 'visible');
  expect(await holderOf(pages)).toBe(holder);
  await reach(holder, (await state(holder)).generation + 1);
  await expectNeverWaited(oauth, pages);
});

test('a frozen holder: another window refreshes before expiry, no caller blocks, the thawed page converges without a request', async ({ app, oauth, context }) => {
  const pages = await openAuto(app, 3);
  const holder = await holderOf(pages);
  const rest = pages.filter((page) => page !== holder);
  const cdp = await context.newCDPSession(holder);
  await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
  const { generation } = await state(rest[0]!);
  await reach(rest[0]!, generation + 2);
  await expectNeverWaited(oauth, rest);
  const sent = (await state(rest[0]!)).generation;
  await cdp.send('Page.setWebLifecycleState', { state: 'active' });
  await reach(holder, sent);
  await expectNeverWaited(oauth, rest);
});

test('the machine sleeps through the expiry: on wake, one request for all windows', async ({ app, oauth, context }) => {
  await context.clock.install();
  const pages = await openAuto(app, 4);
  await holderOf(pages);
  const before = oauth.stats().refreshRequests;
  const { generation } = await state(pages[0]!);
  await context.clock.fastForward(30_000);
  await Promise.all(pages.map((page) => reach(page, generation + 1)));
  expect(oauth.stats().refreshRequests).toBe(before + 1);
  expect(new Set(await Promise.all(pages.map(async (page) => (await state(page)).generation)))).toEqual(new Set([generation + 1]));
  expect(oauth.stats()).toMatchObject({ invalidGrant: 0, grantsRevoked: 0, maxConcurrentRefreshes: 1 });
});

test('the holder gives the role up on pagehide and freeze and is restored from the back/forward cache; the others refresh on time meanwhile', async ({ app, oauth, context }) => {
  const pages = await openAuto(app, 3);
  const holder = await holderOf(pages);
  const rest = pages.filter((page) => page !== holder);
  const cdp = await context.newCDPSession(holder);
  await cdp.send('Page.enable');
  const notRestored: string[] = [];
  let restored = false;
  cdp.on('Page.backForwardCacheNotUsed', (event) => notRestored.push(...event.notRestoredExplanations.map((e) => `${e.type}: ${e.reason}`)));
  cdp.on('Page.frameNavigated', (event) => {
    if (event.type === 'BackForwardCacheRestore') restored = true;
  });
  const away = new URL(holder.url());
  away.searchParams.set('session', 'elsewhere');
  await holder.goto(away.href);
  const next = await holderOf(rest);
  await reach(next, (await state(next)).generation + 2);
  await holder.goBack({ waitUntil: 'commit' });
  await expect.poll(() => restored || notRestored.length > 0, { timeout: 15_000 }).toBe(true);
  expect(notRestored, 'why Chromium did not restore the page from the back/forward cache').toEqual([]);
  await reach(holder, (await state(next)).generation);
  await expectNeverWaited(oauth, rest);
});

test('the control room lists every window with its role, and its timeline of rotations matches the server log', async ({ app, oauth }) => {
  const arrivals: number[] = [];
  oauth.onRefreshRequest(async () => void arrivals.push(Date.now()));
  const pages = await openAuto(app, 3);
  await reach(pages[0]!, 3);
  const [page] = pages;
  const timeline = () =>
    page!.evaluate(() =>
      [...document.querySelectorAll('#control-timeline g')].map((g) => ({
        generation: Number(g.getAttribute('data-generation')),
        started: Number(g.getAttribute('data-started')),
        stored: Number(g.getAttribute('data-stored')),
        received: [...g.querySelectorAll('circle')].map((dot) => ({ window: dot.getAttribute('data-window'), at: Number(dot.getAttribute('data-at')) })),
      })),
    );
  await expect.poll(async () => (await timeline()).filter((r) => r.received.length === 3).length).toBeGreaterThanOrEqual(2);
  const rows = await page!.locator('#control-windows tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
  expect(rows.map((row) => row[0]).sort()).toEqual(['0', '1', '2']);
  expect(rows.filter((row) => row[1] === 'scheduler')).toHaveLength(1);
  for (const rotation of (await timeline()).filter((r) => r.received.length === 3)) {
    // Exactly one request reached the server between the refresh's start and its stored answer.
    expect(arrivals.filter((at) => at >= rotation.started && at <= rotation.stored), `generation ${rotation.generation}`).toHaveLength(1);
    expect(rotation.received.map((r) => r.window).sort()).toEqual(['0', '1', '2']);
    for (const { at } of rotation.received) expect(at).toBeGreaterThanOrEqual(rotation.started);
  }
  expect(arrivals).toHaveLength(oauth.stats().refreshRequests);
});
