import { expect, test } from './fixtures.js';

const EXPIRIES = 3;

// The token lives long enough for every window to be armed before its expiry: WebKit's driver starts a call
// window by window over one WebDriver session, which takes seconds for 32 windows on a loaded 2-core machine.
for (const [windows, accessTokenTtlSeconds] of [[2, 3], [8, 3], [32, 6]] as const) {
  test.describe(() => {
    test.use({ serverOptions: { accessTokenTtlSeconds } });
    test(`${windows} windows: one refresh request per expiry, every window holds the server's token, grant never revoked`, async ({ herd, oauth }) => {
      test.setTimeout(60_000 + windows * 3_000);
      const all = await herd.openSignedIn(windows);
      for (let expiry = 1; expiry <= EXPIRIES; expiry++) {
        const results = await herd.tokensAtExpiry(all);
        expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
        await herd.sharedToken(results);
      }
      expect(oauth.stats().grantsRevoked).toBe(0);
      const generations = await Promise.all(all.map(async (win) => (await herd.state(win)).generation));
      expect(new Set(generations)).toEqual(new Set([1 + EXPIRIES]));
    });
  });
}
