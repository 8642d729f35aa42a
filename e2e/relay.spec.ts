/**
 * A token endpoint without CORS (GitHub's), in Chromium: the refresh goes
 * through the main process's token relay (its real IPC listener, with the
 * app-window check, the contract's validator and `createTokenRelay`, running in
 * this test process behind the app preload's bridge). The windows keep the lock,
 * the store and the decision; the relay adds the client secret, which no page
 * ever holds. A control shows what happens without it.
 */
import type { BrowserContext } from '@playwright/test';
import { startGateway, type Gateway } from '../dev/gateway.js';
import { handleIpc } from '../src/main/ipc.js';
import { createTokenRelay, parseTokenRelayConfig } from '../src/main/token-relay.js';
import type { RelayedTokenRequest } from '../src/desktop/ipc-contract.js';
import { createMainSide } from './support/desktop.js';
import { expect, test as base, type App } from './support/fixtures.js';

const SECRET = 'app-secret';

const test = base.extend<{ github: Gateway }>({
  // The GitHub emulation in front of the test's server, without CORS for anyone (the fixture's gateway allows the app).
  github: async ({ oauth }, use) => {
    const github = await startGateway({ upstream: oauth, emulate: 'github', clientSecret: SECRET });
    await use(github);
    await github.close();
  },
});
test.use({ emulation: 'github', clientSecret: SECRET });

async function installRelay(context: BrowserContext, appOrigin: string, tokenEndpoint: string): Promise<void> {
  const main = createMainSide(appOrigin);
  handleIpc(main.ipcMain, 'tokenherd:token-request', {
    trust: main.appOnly,
    handle: createTokenRelay(parseTokenRelayConfig({ tokenEndpoint, clientSecret: SECRET })),
  });
  await context.exposeBinding('tokenherdTestRelay', (caller, request: RelayedTokenRequest) =>
    main.bridgeFor(caller.page, caller.frame.url()).relayTokenRequest(request),
  );
}

async function signIn(app: App, github: Gateway, query: Record<string, string>, count: number) {
  const pages = await app.open(count, { query: { issuer: github.issuer, token_endpoint: github.tokenEndpoint, profile: 'github', ...query } });
  await pages[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await github.mintSession());
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
  return pages;
}

test('through the relay: one refresh per expiry across the windows, every window gets the new token, no page holds the secret', async ({
  app,
  github,
  context,
  origin,
}) => {
  await installRelay(context, origin, github.tokenEndpoint);
  const pages = await signIn(app, github, { relay: 'binding' }, 4);
  for (let expiry = 1; expiry <= 2; expiry++) {
    await app.sharedToken(await app.tokensAtExpiry(pages));
    expect(github.stats()).toMatchObject({ refreshRequests: expiry, consumed: expiry, grantsRevoked: 0 });
  }
  for (const page of pages) expect(page.url()).not.toContain(SECRET);
});

test('control: without the relay the page still sends the refresh, the provider rotates, and the page can read no answer, not even the refusal', async ({
  app,
  github,
}) => {
  const [page] = await signIn(app, github, { client_secret: SECRET }, 1);
  const [first] = await app.tokensAtExpiry([page!]);
  expect(first).toMatchObject({ ok: false, code: 'TRANSIENT' });
  // The POST needed no preflight: it reached the provider, which rotated the refresh token the page never got.
  expect(github.stats()).toMatchObject({ refreshRequests: 1, consumed: 1 });
  // The stored refresh token is used up: the provider refuses it, and the page cannot read that either.
  expect(await page!.evaluate(() => window.tokenherdDemo.token())).toMatchObject({ ok: false, code: 'TRANSIENT' });
  expect(github.stats()).toMatchObject({ refreshRequests: 2, consumed: 1, invalidGrant: 1 });
});

test('the relay refuses another URL and a request that is not a plain refresh_token grant, and sends nothing', async ({ app, github, context, origin }) => {
  await installRelay(context, origin, github.tokenEndpoint);
  const [page] = await app.open(1, { query: { relay: 'binding' } });
  const answers = await page!.evaluate(
    ([tokenEndpoint, issuer]) =>
      Promise.all([
        window.tokenherdTestRelay!({ url: `${issuer}/elsewhere`, body: 'grant_type=refresh_token&refresh_token=x' }),
        window.tokenherdTestRelay!({ url: tokenEndpoint, body: 'grant_type=authorization_code&code=x' }),
        window.tokenherdTestRelay!({ url: tokenEndpoint, body: 'grant_type=refresh_token&refresh_token=x&client_secret=guess' }),
      ]),
    [github.tokenEndpoint, github.issuer] as const,
  );
  expect(answers.map((a) => (a.ok ? 'sent' : a.code))).toEqual(['NOT_ALLOWED', 'INVALID_PAYLOAD', 'INVALID_PAYLOAD']);
  expect(github.stats().requests).toBe(0);
});
