/**
 * The token broker's contract in Chromium, through the same modules the
 * Electron main process and preloads use (src/main/broker.ts,
 * renderer-token-source.ts, ipc.ts, trust.ts; src/preload/bridges.ts), with
 * only Electron's transport replaced:
 * - "ipcMain" is an in-process stand-in; the app pages' preload half runs in
 *   this test process and asks each page's coordinator through page.evaluate;
 * - the embedded view is a page of a SECOND origin in a SEPARATE browser
 *   context (another storage partition, like an Electron partition); its
 *   `window.tokenherdBroker` is the embedded preload's bridge behind a binding
 *   that reports the calling frame's real URL (as senderFrame does);
 * - header injection runs through page routing instead of
 *   session.webRequest.onBeforeSendHeaders, with the same injector.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { embeddedDemoPage, startSite, type Site } from '../dev/embedded-site.js';
import { createHeaderInjector, createTokenBroker, parseBrokerConfig, type TokenBroker } from '../src/main/broker.js';
import { handleIpc } from '../src/main/ipc.js';
import { createRendererTokenSource, type RendererTokenSource, type ResponderLike } from '../src/main/renderer-token-source.js';
import { connectRenderer, createFakeIpcMain, fakeEvent } from '../test/electron/test-support.js';
import { createTrustRegistry } from '../src/main/trust.js';
import { createDesktopAppBridge, createEmbeddedViewBridge } from '../src/preload/bridges.js';
import type { TokenQuery } from '../src/desktop/ipc-contract.js';
import { SESSION_KEY, expect, test } from './support/fixtures.js';

declare global {
  interface Window {
    tokenherdBrokerGetAccessToken?: (provider: string) => Promise<string>;
    tokenherdBroker?: { getAccessToken(provider: string): Promise<string> };
  }
}

// Long enough that a token checked right after a loaded machine's refresh has not expired yet.
test.use({ serverOptions: { accessTokenTtlSeconds: 5 } });

const VIEW_ID = 900;

interface Harness {
  broker: TokenBroker;
  source: RendererTokenSource;
  view: Page;
  viewContext: BrowserContext;
  sites: { view: Site; api: Site; other: Site };
  /** Token queries the app pages answered. */
  answers: () => number;
}

/** The main process's half, wired to N app pages and one view context. */
async function startBroker(pages: Page[], appOrigin: string, viewContext: BrowserContext): Promise<Harness> {
  const apiSite = await startSite();
  const otherSite = await startSite({ html: '<!doctype html><title>another origin</title>' });
  const view = await startSite({ html: embeddedDemoPage({ apiUrl: `${apiSite.origin}/api/me`, provider: 'demo' }) });
  apiSite.corsOrigins.add(view.origin);
  otherSite.corsOrigins.add(view.origin);

  const ipcMain = createFakeIpcMain();
  const trust = createTrustRegistry({ appOrigins: [appOrigin] });
  const source = createRendererTokenSource({ timeoutMs: 30_000 });
  const broker = createTokenBroker(
    parseBrokerConfig({ allowLoopbackHttp: true, providers: [{ id: 'demo', sessionKey: SESSION_KEY, headerOrigins: [apiSite.origin], viewOrigins: [view.origin] }] }),
    source,
  );
  const renderers = new Map<number, ReturnType<typeof connectRenderer>>();
  const responderOf = (id: number, page: Page): ResponderLike => ({
    id,
    isDestroyed: () => page.isClosed(),
    send: (channel, request) => renderers.get(id)!.emit(channel, request),
  });
  const pageOf = new Map<number, Page>();
  const appOnly = (event: Parameters<typeof trust.isAppSender>[0]) => trust.isAppSender(event);
  handleIpc(ipcMain, 'tokenherd:broker-ready', {
    trust: appOnly,
    handle: ({ sessionKey, ready }, event) => (source.setReady(responderOf(event.sender.id, pageOf.get(event.sender.id)!), sessionKey, ready, 'window'), null),
  });
  handleIpc(ipcMain, 'tokenherd:broker-answer', { trust: appOnly, handle: (answer, event) => (source.deliver(event.sender.id, answer), null) });
  handleIpc(ipcMain, 'tokenherd:view-access-token', {
    trust: (event) => trust.embeddedOrigin(event) !== undefined,
    handle: async ({ provider }, event) => ({ accessToken: await broker.viewAccessToken(trust.embeddedOrigin(event), provider) }),
  });

  // Each app page: its preload's bridge, answering from the page's own coordinator.
  let answers = 0;
  await Promise.all(
    pages.map(async (page, index) => {
      const id = 100 + index;
      trust.register(id, 'app');
      pageOf.set(id, page);
      const renderer = connectRenderer(ipcMain, fakeEvent(id, page.url()));
      renderers.set(id, renderer);
      createDesktopAppBridge(renderer, []).serveTokenRequests(SESSION_KEY, (query: TokenQuery) => {
        answers++;
        return page.evaluate((q) => window.tokenherdDemo.answerTokenQuery(q), query);
      });
    }),
  );

  // The embedded view: its preload's bridge, judged by the frame that calls.
  trust.register(VIEW_ID, 'embedded');
  await viewContext.exposeBinding('tokenherdBrokerGetAccessToken', (caller, provider: string) =>
    createEmbeddedViewBridge(connectRenderer(ipcMain, fakeEvent(VIEW_ID, caller.frame.url()))).getAccessToken(provider),
  );
  await viewContext.addInitScript(() => {
    const call = window.tokenherdBrokerGetAccessToken!;
    window.tokenherdBroker = { getAccessToken: (provider) => call(provider) };
  });
  // Header injection, as onBeforeSendHeaders would do it for the view's session.
  const injector = createHeaderInjector(broker);
  await viewContext.route('**/*', async (route) => {
    const request = route.request();
    await route.continue({ headers: await injector.headersFor({ url: request.url(), requestHeaders: await request.allHeaders() }) });
  });
  const viewPage = await viewContext.newPage();
  await viewPage.goto(`${view.origin}/`);
  return { broker, source, view: viewPage, viewContext, sites: { view, api: apiSite, other: otherSite }, answers: () => answers };
}

/** Every refresh token the app's storage has held, read as the app pages see it. */
async function storedRefreshToken(page: Page): Promise<string> {
  const token = await page.evaluate(async (key) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('tokenherd');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const record = await new Promise<{ tokens?: { refreshToken?: string } } | undefined>((resolve, reject) => {
      const request = db.transaction('sessions').objectStore('sessions').get(key);
      request.onsuccess = () => resolve(request.result as { tokens?: { refreshToken?: string } } | undefined);
      request.onerror = () => reject(request.error);
    });
    db.close();
    return record?.tokens?.refreshToken;
  }, SESSION_KEY);
  expect(token).toBeDefined();
  return token!;
}

test('an embedded view of another origin gets only an access token, for the allowlisted host only, while N app pages refresh once per expiry', async ({
  app,
  oauth,
  browser,
  origin,
}) => {
  test.setTimeout(120_000);
  const pages = await app.open(4);
  await app.signIn(pages[0]!);
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
  const viewContext = await browser.newContext();
  const h = await startBroker(pages, origin, viewContext);
  const refreshTokens = new Set([await storedRefreshToken(pages[0]!)]);
  try {
    for (let expiry = 1; expiry <= 3; expiry++) {
      const expiresAt = (await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt))!;
      const at = expiresAt + 1;
      // At the same instant: every app page, the view's API calls, the view's own token call, and the main process.
      const [results, viewResults, mainToken] = await Promise.all([
        app.tokensAtExpiry(pages),
        h.view.evaluate(
          async ({ at, api, other }) => {
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
            const [fromApi, fromOther, token] = await Promise.all([
              fetch(`${api}/api/repos`).then((r) => r.json()),
              fetch(`${other}/api/elsewhere`).then((r) => r.json()),
              window.tokenherdBroker!.getAccessToken('demo'),
            ]);
            const seen = [fromApi, fromOther, token];
            (window as unknown as { seen: unknown[] }).seen = [...((window as unknown as { seen?: unknown[] }).seen ?? []), ...seen];
            return { fromApi, fromOther, token };
          },
          { at, api: h.sites.api.origin, other: h.sites.other.origin },
        ),
        new Promise<string>((resolve, reject) => setTimeout(() => h.broker.getAccessToken('demo').then(resolve, reject), Math.max(0, at - Date.now()))),
      ]);
      expect(results.filter((r) => !r.ok)).toEqual([]);
      const tokens = new Set([...results.map((r) => (r.ok ? r.token : '')), viewResults.token, mainToken]);
      expect(tokens.size).toBe(1);
      const [token] = tokens;
      expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
      expect(await oauth.accessTokenValid(token!)).toBe(true);

      // The allowlisted API got the bearer token; the other host got no Authorization at all.
      expect(viewResults.fromApi).toEqual({ path: '/api/repos', authorized: true });
      expect(viewResults.fromOther).toEqual({ path: '/api/elsewhere', authorized: false });
      expect(h.sites.api.requests.at(-1)?.authorization).toBe(`Bearer ${token}`);
      expect(h.sites.other.requests.every((r) => r.authorization === undefined)).toBe(true);
      expect(h.sites.view.requests.every((r) => r.authorization === undefined)).toBe(true); // the view's own origin is not a header origin
      refreshTokens.add(await storedRefreshToken(pages[0]!));
    }
    expect(refreshTokens.size).toBe(4); // the signed-in one and three rotations
    expect(oauth.stats().grantsRevoked).toBe(0);

    // Nothing a refresh token ever reached the view: not its DOM, not its storage, not what it was given.
    const visible = await h.view.evaluate(() =>
      JSON.stringify({
        html: document.documentElement.outerHTML,
        local: { ...localStorage },
        session: { ...sessionStorage },
        seen: (window as unknown as { seen?: unknown[] }).seen,
        globals: Object.keys(window).filter((k) => k.startsWith('tokenherd')),
      }),
    );
    expect(JSON.parse(visible).globals.sort()).toEqual(['tokenherdBroker', 'tokenherdBrokerGetAccessToken']);
    for (const refreshToken of refreshTokens) {
      expect(visible).not.toContain(refreshToken);
      for (const site of Object.values(h.sites)) expect(JSON.stringify(site.requests)).not.toContain(refreshToken);
    }
    // The view's own storage partition holds no tokenherd database.
    expect(await h.view.evaluate(async () => (await indexedDB.databases()).map((d) => d.name))).toEqual([]);
  } finally {
    h.source.close();
    await viewContext.close();
    await Promise.all(Object.values(h.sites).map((site) => site.close()));
  }
});

test('the broker refuses a view page of an origin not on the allowlist, an unknown provider and a malformed call, before asking any app page', async ({
  app,
  browser,
  origin,
}) => {
  const pages = await app.open(2);
  await app.signIn(pages[0]!);
  const viewContext = await browser.newContext();
  const h = await startBroker(pages, origin, viewContext);
  try {
    // Same view, navigated to another origin: the binding reports the frame's real URL.
    await h.view.goto(`${h.sites.other.origin}/`);
    const refused = await h.view.evaluate(() => window.tokenherdBroker!.getAccessToken('demo').then(() => 'granted', (e: Error) => e.message));
    expect(refused).toMatch(/^NOT_ALLOWED: /);
    await h.view.goto(`${h.sites.view.origin}/`);
    const unknown = await h.view.evaluate(() => window.tokenherdBroker!.getAccessToken('gitlab').then(() => 'granted', (e: Error) => e.message));
    expect(unknown).toMatch(/^UNKNOWN_PROVIDER: /);
    const malformed = await h.view.evaluate(() =>
      window.tokenherdBroker!.getAccessToken({ provider: 'demo' } as unknown as string).then(() => 'granted', (e: Error) => e.message),
    );
    expect(malformed).toMatch(/^INVALID_PAYLOAD: /);
    expect(h.answers()).toBe(0);
    expect(await h.view.evaluate(() => window.tokenherdBroker!.getAccessToken('demo'))).toMatch(/\S/);
    expect(h.answers()).toBe(1);
  } finally {
    h.source.close();
    await viewContext.close();
    await Promise.all(Object.values(h.sites).map((site) => site.close()));
  }
});
