import { expect, test } from './support/fixtures.js';

const EXPIRIES = 3;

for (const windows of [2, 8, 32]) {
  test(`${windows} windows: one refresh request per expiry, one shared token that works, grant never revoked`, async ({ app, oauth }) => {
    test.setTimeout(120_000);
    const pages = await app.openSignedIn(windows);
    for (let expiry = 1; expiry <= EXPIRIES; expiry++) {
      await app.sharedToken(await app.tokensAtExpiry(pages));
      expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
    }
    expect(oauth.stats().grantsRevoked).toBe(0);
    const generations = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.coordinator.getState().generation)));
    expect(new Set(generations)).toEqual(new Set([1 + EXPIRIES]));
  });
}

test('the window holding the lock is closed mid-refresh: another window completes it', async ({ app, oauth }) => {
  const pages = await app.openSignedIn(4);
  let arrived!: () => void;
  const leaderSent = new Promise<void>((resolve) => (arrived = resolve));
  oauth.onRefreshRequest(async ({ clientGone }) => {
    oauth.onRefreshRequest(undefined);
    arrived();
    await clientGone; // held until the leader's page is gone: the provider never sees this request
  });
  const results = app.tokensAtExpiry(pages);
  await leaderSent;
  const holds = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.coordinator.getState().holdsLock)));
  expect(holds.filter(Boolean)).toHaveLength(1);
  const leader = pages[holds.indexOf(true)]!;
  const survivors = pages.filter((page) => page !== leader);
  const outcome = Promise.all(survivors.map((page) => page.evaluate(() => window.tokenherdDemo.tokenAt(0))));
  await leader.close();
  await results.catch(() => {}); // the leader's own evaluate dies with its page
  await app.sharedToken(await outcome);
  expect(oauth.stats()).toMatchObject({ refreshAbandoned: 1, refreshSucceeded: 1, invalidGrant: 0, grantsRevoked: 0 });
});

test.describe('mixed callers', () => {
  // Long enough that "7 s left" can be waited for, short enough that 8 s is more than is left.
  test.use({ serverOptions: { accessTokenTtlSeconds: 12 } });

  test('each caller gets a token that meets its own need; forced and heavier callers share one refresh across windows', async ({ app, oauth }) => {
    const pages = await app.openSignedIn(4);
    const expiresAt = await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt!);
    let release!: () => void;
    let arrived!: () => void;
    const sent = new Promise<void>((resolve) => (arrived = resolve));
    oauth.onRefreshRequest(async () => {
      oauth.onRefreshRequest(undefined);
      arrived();
      await new Promise<void>((resolve) => (release = resolve));
    });
    // With 7 s left: 2 s is enough for the current token, 8 s is not; forceRefresh refuses it.
    const callers = (page: (typeof pages)[number]) =>
      page.evaluate(async (at) => {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
        const { token } = window.tokenherdDemo;
        const [light, heavy, forced] = await Promise.all([token({ minValiditySeconds: 2 }), token({ minValiditySeconds: 8 }), token({ forceRefresh: true })]);
        return { light, heavy, forced };
      }, expiresAt - 7_000);
    const first = callers(pages[0]!);
    await sent; // one window's refresh is at the server (held there): the others now ask while it is in flight
    const others = Promise.all(pages.slice(1).map(callers));
    // Every caller that needs a new token is queued for the lock before the refresh completes:
    // the holder's second operation and two per other window (forced and heavier needs do not join each other).
    await expect.poll(() => pages[0]!.evaluate(async () => (await navigator.locks.query()).pending?.length)).toBe(7);
    release();
    const results = [await first, ...(await others)];
    const old = results.map((r) => r.light);
    expect(new Set(old.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    const fresh = await app.sharedToken(results.flatMap((r) => [r.heavy, r.forced]));
    expect(old[0]).not.toEqual({ ok: true, token: fresh });
    expect(oauth.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1, invalidGrant: 0, grantsRevoked: 0 });
  });
});
