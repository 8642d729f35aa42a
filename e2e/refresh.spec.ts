import { expect, test } from './support/fixtures.js';

const EXPIRIES = 3;

for (const windows of [2, 8, 32]) {
  test(`${windows} windows: one refresh request per expiry, one shared token that works, grant never revoked`, async ({ app, oauth }) => {
    test.setTimeout(120_000);
    const pages = await app.open(windows);
    await app.signIn(pages[0]!);
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
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
  const pages = await app.open(4);
  await app.signIn(pages[0]!);
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
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
