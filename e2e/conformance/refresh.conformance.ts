import { expect, test } from './fixtures.js';

const EXPIRIES = 3;

for (const windows of [2, 8, 32]) {
  test(`${windows} windows: one refresh request per expiry, every window holds the server's token, grant never revoked`, async ({ herd, oauth }) => {
    test.setTimeout(60_000 + windows * 3_000);
    const all = await herd.openSignedIn(windows);
    for (let expiry = 1; expiry <= EXPIRIES; expiry++) {
      await herd.sharedToken(await herd.tokensAtExpiry(all));
      expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
    }
    expect(oauth.stats().grantsRevoked).toBe(0);
    const generations = await Promise.all(all.map(async (win) => (await herd.state(win)).generation));
    expect(new Set(generations)).toEqual(new Set([1 + EXPIRIES]));
  });
}
