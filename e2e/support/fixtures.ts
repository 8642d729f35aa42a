import { test as base, expect, type BrowserContext, type Page } from '@playwright/test';
import { preview } from 'vite';
import { startGateway, upstreamOptionsFor, type Emulation, type Gateway } from '../../dev/gateway.js';
import { startOAuthServer, type OAuthServer, type OAuthServerOptions } from '../../dev/oauth-server.js';
import type { DemoHandle } from '../../dev/demo/demo.js';
import { HARNESS_DIR } from './paths.js';

declare global {
  interface Window {
    tokenherdDemo: DemoHandle;
  }
}

export const SESSION_KEY = 'e2e';

export interface App {
  /** Opens `count` demo windows in `context` (default: the test's context) and waits until each has read the store. */
  open(count: number, options?: { context?: BrowserContext; query?: Record<string, string> }): Promise<Page[]>;
  /** Mints a session at the server and stores it through `page`, as a sign-in would. */
  signIn(page: Page): Promise<void>;
  /** Opens `count` windows (as `open`), signs in through the first, and waits until every one reports it. */
  openSignedIn(count: number, options?: { query?: Record<string, string> }): Promise<Page[]>;
  /**
   * Signs in through the demo's own sign-in: its button, the server's login and consent pages,
   * and the code exchange when the page comes back (bound to a new DPoP key with the `dpop` option).
   */
  signInThroughLoginPage(page: Page): Promise<void>;
  /** Every page asks for a token at the same wall-clock instant: just after its stored token expires. */
  tokensAtExpiry(pages: Page[]): Promise<Array<Awaited<ReturnType<DemoHandle['token']>>>>;
  /** Asserts that every result is a token, the same one, which the server issued and has not revoked; returns it. */
  sharedToken(results: Array<Awaited<ReturnType<DemoHandle['token']>>>): Promise<string>;
  /** Resolves when `page`'s coordinator reports `status`. */
  waitForStatus(page: Page, status: 'signed-in' | 'signed-out'): Promise<void>;
}

export const test = base.extend<
  {
    serverOptions: OAuthServerOptions;
    /** When set, the windows talk to a fault-injecting gateway emulating this provider, in front of `oauth`. */
    emulation: Emulation | undefined;
    /** The client secret the `github` emulation demands. */
    clientSecret: string | undefined;
    /** Opens the windows with `dpop=1`: their coordinators use `dpop: true`. */
    dpop: boolean;
    oauth: OAuthServer;
    gateway: Gateway | undefined;
    app: App;
  },
  { origin: string }
>({
  origin: [
    async ({}, use) => {
      const server = await preview({ configFile: 'vite.config.ts', build: { outDir: HARNESS_DIR }, preview: { port: 0 } });
      const url = server.resolvedUrls?.local[0];
      if (!url) throw new Error('the demo preview server has no local URL');
      await use(new URL(url).origin);
      await server.close();
    },
    { scope: 'worker' },
  ],
  // Short enough for several expiries per test, long enough that a loaded machine still checks a fresh token in time.
  serverOptions: [{ accessTokenTtlSeconds: 3 }, { option: true }],
  emulation: [undefined, { option: true }],
  clientSecret: [undefined, { option: true }],
  dpop: [false, { option: true }],
  oauth: async ({ origin, serverOptions, emulation }, use) => {
    const server = await startOAuthServer({
      corsOrigins: [origin],
      redirectUris: [`${origin}/`],
      ...(emulation !== undefined && upstreamOptionsFor(emulation)),
      ...serverOptions,
    });
    await use(server);
    await server.close();
  },
  gateway: async ({ oauth, origin, emulation, clientSecret }, use) => {
    if (emulation === undefined) return use(undefined);
    const gateway = await startGateway({ upstream: oauth, emulate: emulation, corsOrigins: [origin], ...(clientSecret !== undefined && { clientSecret }) });
    await use(gateway);
    await gateway.close();
  },
  app: async ({ context, origin, oauth, gateway, dpop }, use) => {
    const issuer = gateway?.issuer ?? oauth.issuer;
    // auto=0: these tests count on-demand refreshes; e2e/auto-refresh.spec.ts opens its windows with auto=1.
    const query = { issuer, client_id: oauth.clientId, session: SESSION_KEY, poll: '0', leeway: '0', auto: '0', ...(dpop && { dpop: '1' }) };
    const app: App = {
      async open(count, options = {}) {
        const target = options.context ?? context;
        return Promise.all(
          Array.from({ length: count }, async (_, index) => {
            const page = await target.newPage();
            const search = new URLSearchParams({ ...query, window: String(index), ...options.query });
            await page.goto(`${origin}/?${search}`);
            await page.evaluate(() => window.tokenherdDemo.ready);
            return page;
          }),
        );
      },
      async signIn(page) {
        const response = await (gateway ?? oauth).mintSession();
        await page.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), response);
      },
      async openSignedIn(count, options = {}) {
        const pages = await app.open(count, options);
        await app.signIn(pages[0]!);
        await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
        return pages;
      },
      async signInThroughLoginPage(page) {
        await page.click('#sign-in');
        // The server remembers a login in its cookie: a second sign-in goes straight to consent.
        const login = page.locator('input[name="login"]');
        const consent = page.locator('button[type="submit"]', { hasText: 'Continue' });
        await login.or(consent).first().waitFor();
        if (await login.isVisible()) {
          await login.fill('octocat');
          await page.locator('input[name="password"]').fill('any password');
          await page.locator('button[type="submit"]').click();
        }
        await consent.click();
        await page.waitForURL((url) => url.origin === origin && url.searchParams.has('issuer') && !url.searchParams.has('code'));
        await page.evaluate(() => window.tokenherdDemo.ready);
      },
      async tokensAtExpiry(pages) {
        const first = pages[0];
        if (!first) throw new Error('no pages');
        const expiresAt = await first.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt);
        expect(expiresAt).toBeDefined();
        return Promise.all(pages.map((page) => page.evaluate((at) => window.tokenherdDemo.tokenAt(at), expiresAt! + 1)));
      },
      async sharedToken(results) {
        expect(results.filter((r) => !r.ok)).toEqual([]);
        const tokens = new Set(results.map((r) => (r.ok ? r.token : '')));
        expect(tokens.size).toBe(1);
        const [token] = tokens;
        expect(await oauth.accessTokenValid(token!)).toBe(true);
        return token!;
      },
      async waitForStatus(page, status) {
        await page.waitForFunction((s) => window.tokenherdDemo.coordinator.getState().status === s, status);
      },
    };
    await use(app);
  },
});

export { expect };
