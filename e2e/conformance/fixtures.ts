import { SESSION_KEY, expect, test as base } from '../support/fixtures.js';
import type { DemoHandle } from '../../dev/demo/demo.js';
import type { Engine, EngineName, EngineWindow, Partition } from './driver.js';
import { chromiumEngine } from './drivers/chromium.js';
import { firefoxEngine } from './drivers/firefox.js';
import { webkitEngine } from './drivers/webkit.js';

export type TokenResult = Awaited<ReturnType<DemoHandle['token']>>;
export type State = ReturnType<DemoHandle['coordinator']['getState']>;

/** The demo windows of one test, in one storage partition of the engine under test. */
export interface Herd {
  /** The demo page's address for window `index`, with the test's server and session in the query. */
  url(index: number, query?: Record<string, string>): string;
  /** Opens `count` demo windows and waits until each has read the store. */
  open(count: number, options?: { query?: Record<string, string> }): Promise<EngineWindow[]>;
  /** Mints a session at the server and stores it through `win`, as a sign-in would. */
  signIn(win: EngineWindow): Promise<void>;
  /** Opens `count` windows, signs in through the first, and waits until every one reports it. */
  openSignedIn(count: number, options?: { query?: Record<string, string> }): Promise<EngineWindow[]>;
  /** Signs in through the demo's own sign-in: its button, the server's login and consent pages, and the code exchange back in the window. */
  signInThroughLoginPage(win: EngineWindow): Promise<void>;
  /** Every window asks for a token at the same wall-clock instant: just after its stored token expires. */
  tokensAtExpiry(windows: EngineWindow[]): Promise<TokenResult[]>;
  /** Asserts that every result is a token, the same one, which the server issued and has not revoked; returns it. */
  sharedToken(results: TokenResult[]): Promise<string>;
  /** Resolves when the window's coordinator reports `status`. */
  waitForStatus(win: EngineWindow, status: 'signed-in' | 'signed-out'): Promise<void>;
  state(win: EngineWindow): Promise<State>;
}

async function ready(opening: Promise<EngineWindow>): Promise<EngineWindow> {
  const win = await opening;
  await win.evaluate(() => window.tokenherdDemo.ready);
  return win;
}

const LAUNCH: Record<EngineName, () => Promise<Engine>> = { chromium: chromiumEngine, firefox: firefoxEngine, webkit: webkitEngine };

export const test = base.extend<{ partition: Partition; herd: Herd }, { engineName: EngineName; engine: Engine }>({
  engineName: ['chromium', { option: true, scope: 'worker' }],
  engine: [
    async ({ engineName }, use) => {
      const engine = await LAUNCH[engineName]();
      await use(engine);
      await engine.close();
    },
    { scope: 'worker', timeout: 60_000 },
  ],
  partition: async ({ engine }, use) => {
    const partition = await engine.partition();
    await use(partition);
    await partition.close();
  },
  herd: async ({ partition, origin, oauth, gateway, dpop }, use) => {
    const issuer = gateway?.issuer ?? oauth.issuer;
    // `auto: '0'`: the invariants of on-demand refresh; auto-refresh.conformance.ts turns it on.
    // `control: '0'`: no demo control room (its N² status messages swamp WebKit's driver at 32 windows).
    const base = { issuer, client_id: oauth.clientId, session: SESSION_KEY, poll: '0', leeway: '0', auto: '0', control: '0', ...(dpop && { dpop: '1' }) };
    const herd: Herd = {
      url: (index, query = {}) => `${origin}/?${new URLSearchParams({ ...base, window: String(index), ...query })}`,
      open: (count, options = {}) => Promise.all(Array.from({ length: count }, (_, index) => ready(partition.open(herd.url(index, options.query))))),
      signIn: async (win) => win.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await (gateway ?? oauth).mintSession()),
      async openSignedIn(count, options = {}) {
        const windows = await herd.open(count, options);
        await herd.signIn(windows[0]!);
        for (const win of windows) await herd.waitForStatus(win, 'signed-in');
        return windows;
      },
      async signInThroughLoginPage(win) {
        await win.click('#sign-in');
        await win.waitFor(() => document.querySelector('button.login-submit'), undefined);
        // The server remembers a login in its cookie: a second sign-in goes straight to consent.
        const login = await win.evaluate(() => {
          const field = (name: string) => document.querySelector<HTMLInputElement>(`input[name="${name}"]`);
          if (field('login') === null) return false;
          field('login')!.value = 'octocat';
          field('password')!.value = 'any password';
          return true;
        });
        if (login) await win.click('button.login-submit');
        await win.waitFor(() => document.querySelector('button.login-submit')?.textContent === 'Continue', undefined);
        await win.click('button.login-submit');
        await win.waitFor((o) => location.origin === o && !new URLSearchParams(location.search).has('code') && 'tokenherdDemo' in window, origin);
        await win.evaluate(() => window.tokenherdDemo.ready);
      },
      async tokensAtExpiry(windows) {
        const { expiresAt } = await herd.state(windows[0]!);
        expect(expiresAt).toBeDefined();
        return Promise.all(windows.map((win) => win.evaluate((at) => window.tokenherdDemo.tokenAt(at), expiresAt! + 1)));
      },
      async sharedToken(results) {
        const tokens = results.map((r) => (r.ok ? r.token : `${r.code}: ${r.message}`));
        expect(new Set(tokens)).toEqual(new Set([tokens[0]]));
        expect(results.every((r) => r.ok)).toBe(true);
        expect(await oauth.accessTokenValid(tokens[0]!)).toBe(true);
        return tokens[0]!;
      },
      waitForStatus: (win, status) => win.waitFor((s) => window.tokenherdDemo.coordinator.getState().status === s, status),
      state: (win) => win.evaluate(() => window.tokenherdDemo.coordinator.getState()),
    };
    await use(herd);
  },
});

export { SESSION_KEY, expect };
