/**
 * The desktop app in a real Electron (Playwright's `_electron`): several
 * windows refresh once per expiry, an embedded view gets the Authorization
 * header (and nothing else), windows refresh through the main process's token
 * relay where the token endpoint has no CORS, a second launch focuses the first.
 *
 * These need the Electron binary. Where it is missing (machines that cannot
 * reach Electron's downloads install with ELECTRON_SKIP_BINARY_DOWNLOAD=1),
 * one skipped test says so; the same logic is covered in Node by
 * src/main/*.test.ts and in Chromium by e2e/broker.spec.ts.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';
import { buildElectron } from '../../dev/build-electron.js';
import { findElectronBinary } from '../../dev/electron-binary.js';
import { startGateway, upstreamOptionsFor } from '../../dev/gateway.js';
import { embeddedDemoPage, startSite, type Site } from '../../dev/embedded-site.js';
import { startOAuthServer, type OAuthServer } from '../../dev/oauth-server.js';
import type { DemoHandle } from '../../dev/demo/demo.js';
import { DEFAULT_SIGN_IN_REDIRECT } from '../../src/main/sign-in.js';
import { APP_ORIGIN } from '../../src/main/app-protocol.js';

declare global {
  interface Window {
    tokenherdDemo: DemoHandle;
  }
}

const SESSION = 'e2e';
const MAIN = fileURLToPath(new URL('../../dist/electron/main.cjs', import.meta.url));
const binary = findElectronBinary();

/** What the main process exposes with TOKENHERD_E2E=1 (see main.ts). */
interface MainHooks {
  getAccessToken(provider: string): Promise<string>;
  toggleEmbeddedView(windowIndex?: number): number | undefined;
  appWindowIds(): number[];
  focusedWindowId(): number | undefined;
  secondInstances(): number;
  sealing(): { available: boolean };
}
type Hooked = typeof globalThis & { tokenherdMain: MainHooks };

if (!binary.ok) {
  test('Electron end-to-end (several windows refresh once; a web view gets the header; the token relay; a second launch focuses the first)', () => {
    test.skip(true, `${binary.reason}; these tests run where it is (see docs/electron.md)`);
  });
} else {
  const executablePath = binary.path;
  let oauth: OAuthServer | undefined;
  let userDataDir: string;
  const apps: ElectronApplication[] = [];
  const sites: Site[] = [];

  test.beforeAll(async () => {
    test.setTimeout(180_000);
    await buildElectron();
  });

  /** The dev OAuth server, answering CORS requests of the app's origin and of `corsOrigins`. */
  async function startOAuth(corsOrigins: string[] = []): Promise<OAuthServer> {
    oauth = await startOAuthServer({ accessTokenTtlSeconds: 3, corsOrigins: [APP_ORIGIN, ...corsOrigins], redirectUris: [DEFAULT_SIGN_IN_REDIRECT] });
    return oauth;
  }

  test.beforeEach(async () => {
    userDataDir = await mkdtemp(join(tmpdir(), 'tokenherd-electron-'));
  });

  test.afterEach(async () => {
    await Promise.allSettled(apps.splice(0).map((app) => app.close()));
    await Promise.allSettled(sites.splice(0).map((site) => site.close()));
    await oauth?.close();
    oauth = undefined;
    await rm(userDataDir, { recursive: true, force: true });
  });

  const args = (): string[] => [MAIN, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  const environment = (extra: Record<string, string>): Record<string, string> => ({
    ...(process.env as Record<string, string>),
    TOKENHERD_E2E: '1',
    TOKENHERD_ISSUER: oauth!.issuer,
    TOKENHERD_SESSION: SESSION,
    TOKENHERD_USER_DATA_DIR: userDataDir,
    TOKENHERD_APP_QUERY: 'poll=0&leeway=0&auto=0',
    ...extra,
  });

  async function launch(extra: Record<string, string> = {}): Promise<ElectronApplication> {
    const app = await electron.launch({ executablePath, args: args(), env: environment(extra), timeout: 60_000 });
    apps.push(app);
    return app;
  }

  async function appWindows(app: ElectronApplication, count: number): Promise<Page[]> {
    await expect.poll(() => app.windows().filter((page) => page.url().startsWith(`${APP_ORIGIN}/`)).length, { timeout: 30_000 }).toBe(count);
    const pages = app.windows().filter((page) => page.url().startsWith(`${APP_ORIGIN}/`));
    for (const page of pages) {
      await page.waitForFunction(() => window.tokenherdDemo !== undefined);
      await page.evaluate(() => window.tokenherdDemo.ready);
    }
    return pages;
  }

  async function signIn(pages: Page[]): Promise<void> {
    const session = await oauth!.mintSession();
    await pages[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), session);
    for (const page of pages) await page.waitForFunction(() => window.tokenherdDemo.coordinator.getState().status === 'signed-in');
  }

  async function tokensAtExpiry(pages: Page[]): Promise<string[]> {
    const expiresAt = (await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt))!;
    const results = await Promise.all(pages.map((page) => page.evaluate((at) => window.tokenherdDemo.tokenAt(at), expiresAt + 1)));
    expect(results.filter((r) => !r.ok)).toEqual([]);
    return results.map((r) => (r.ok ? r.token : ''));
  }

  test('several windows refresh once per expiry; the main process gets the same token; pages have no Node and only the named bridge', async () => {
    test.setTimeout(120_000);
    const oauth = await startOAuth();
    const app = await launch({ TOKENHERD_WINDOWS: '4' });
    const pages = await appWindows(app, 4);
    for (const page of pages) {
      expect(await page.evaluate(() => [typeof (globalThis as { require?: unknown }).require, typeof (globalThis as { process?: unknown }).process])).toEqual([
        'undefined',
        'undefined',
      ]);
      expect(await page.evaluate(() => Object.keys(window.tokenherdDesktop ?? {}).sort())).toEqual(
        ['relayTokenRequest', 'role', 'seal', 'serveTokenRequests', 'signIn', 'signInRedirectUri', 'unseal', 'version'].sort(),
      );
    }
    await signIn(pages);
    for (let expiry = 1; expiry <= 2; expiry++) {
      const tokens = await tokensAtExpiry(pages);
      expect(new Set(tokens).size).toBe(1);
      expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
      expect(await oauth.accessTokenValid(tokens[0]!)).toBe(true);
      const fromMain = await app.evaluate(() => (globalThis as Hooked).tokenherdMain.getAccessToken('demo'));
      expect(fromMain).toBe(tokens[0]);
    }
    expect(oauth.stats().grantsRevoked).toBe(0);
    const sealing = await app.evaluate(() => (globalThis as Hooked).tokenherdMain.sealing());
    const raw = await pages[0]!.evaluate(async (key) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('tokenherd');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const record = await new Promise<{ tokens?: { refreshToken?: string } }>((resolve) => {
        const request = db.transaction('sessions').objectStore('sessions').get(key);
        request.onsuccess = () => resolve(request.result as { tokens?: { refreshToken?: string } });
      });
      db.close();
      return record.tokens?.refreshToken ?? '';
    }, SESSION);
    expect(raw.startsWith('tokenherd-sealed:v1:')).toBe(sealing.available);
  });

  test('an embedded view gets the Authorization header for the allowlisted host only, and a narrow getAccessToken', async () => {
    test.setTimeout(120_000);
    const api = await startSite();
    const other = await startSite();
    const view = await startSite({ html: embeddedDemoPage({ apiUrl: `${api.origin}/api/me`, provider: 'demo' }) });
    sites.push(api, other, view);
    api.corsOrigins.add(view.origin);
    other.corsOrigins.add(view.origin);
    const oauth = await startOAuth([view.origin]);
    const app = await launch({
      TOKENHERD_WINDOWS: '2',
      TOKENHERD_EMBEDDED_URL: `${view.origin}/`,
      TOKENHERD_PROVIDERS: JSON.stringify({
        allowLoopbackHttp: true,
        providers: [{ id: 'demo', sessionKey: SESSION, headerOrigins: [oauth.issuer, api.origin], viewOrigins: [view.origin] }],
      }),
    });
    const pages = await appWindows(app, 2);
    await signIn(pages);
    const viewId = await app.evaluate(() => (globalThis as Hooked).tokenherdMain.toggleEmbeddedView(0));
    expect(viewId).toBeDefined();
    const inView = <T>(script: string) =>
      app.evaluate(async ({ webContents }, [id, code]) => {
        const contents = webContents.fromId(id as number)!;
        if (contents.isLoading()) await new Promise<void>((resolve) => contents.once('did-finish-load', () => resolve()));
        return contents.executeJavaScript(code as string) as Promise<unknown>;
      }, [viewId, script] as const) as Promise<T>;
    const token = await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getAccessToken());
    expect(await inView(`fetch(${JSON.stringify(`${api.origin}/api/me`)}).then((r) => r.json())`)).toEqual({ path: '/api/me', authorized: true });
    expect(api.requests.at(-1)?.authorization).toBe(`Bearer ${token}`);
    expect(await inView(`fetch(${JSON.stringify(`${other.origin}/api/x`)}).then((r) => r.json())`)).toEqual({ path: '/api/x', authorized: false });
    expect(other.requests.every((r) => r.authorization === undefined)).toBe(true);
    // The real provider API accepts what the view's request carried.
    expect(await inView(`fetch(${JSON.stringify(`${oauth.issuer}/me`)}).then((r) => r.status)`)).toBe(200);
    expect(await inView(`window.tokenherdBroker.getAccessToken('demo')`)).toBe(token);
    expect(await inView(`[typeof window.tokenherdDesktop, typeof require, typeof process, Object.keys(window.tokenherdBroker).join()]`)).toEqual([
      'undefined',
      'undefined',
      'undefined',
      'getAccessToken',
    ]);
  });

  test('a token endpoint without CORS: windows refresh once per expiry through the main process, which adds the client secret', async () => {
    test.setTimeout(120_000);
    const secret = 'app-secret';
    oauth = await startOAuthServer({ ...upstreamOptionsFor('github'), accessTokenTtlSeconds: 3 });
    const github = await startGateway({ upstream: oauth, emulate: 'github', clientSecret: secret });
    try {
      const app = await launch({
        TOKENHERD_WINDOWS: '3',
        TOKENHERD_ISSUER: github.issuer,
        TOKENHERD_TOKEN_ENDPOINT: github.tokenEndpoint,
        TOKENHERD_CLIENT_SECRET: secret,
        TOKENHERD_APP_QUERY: 'poll=0&leeway=0&auto=0&profile=github',
      });
      const pages = await appWindows(app, 3);
      await pages[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await github.mintSession());
      for (const page of pages) await page.waitForFunction(() => window.tokenherdDemo.coordinator.getState().status === 'signed-in');
      for (let expiry = 1; expiry <= 2; expiry++) {
        const tokens = await tokensAtExpiry(pages);
        expect(new Set(tokens).size).toBe(1);
        expect(github.stats()).toMatchObject({ refreshRequests: expiry, consumed: expiry, grantsRevoked: 0 });
      }
    } finally {
      await github.close();
    }
  });

  test('a second launch of the same profile exits and focuses the first', async () => {
    await startOAuth();
    const app = await launch({ TOKENHERD_WINDOWS: '2' });
    await appWindows(app, 2);
    const second = spawn(executablePath, args(), { env: environment({ TOKENHERD_WINDOWS: '2' }), stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve, reject) => {
      second.once('exit', resolve);
      second.once('error', reject);
      setTimeout(() => reject(new Error('the second instance did not exit')), 30_000);
    });
    expect(code).toBe(0);
    await expect.poll(() => app.evaluate(() => (globalThis as Hooked).tokenherdMain.secondInstances())).toBe(1);
    const [focused, windows] = await app.evaluate(() => [(globalThis as Hooked).tokenherdMain.focusedWindowId(), (globalThis as Hooked).tokenherdMain.appWindowIds()] as const);
    expect(windows).toHaveLength(2); // focused, not a new window
    expect(focused).toBe(windows[0]);
  });
}
