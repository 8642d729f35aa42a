import { inspectDpopKey } from './idb.js';
import { SESSION_KEY, expect, test } from './fixtures.js';

// Every window runs `dpop: true` against a server that refuses token requests without a proof.
test.use({ dpop: true, serverOptions: { accessTokenTtlSeconds: 10, dpop: 'required' } });

// Signed in through the provider's login pages: the key is made in the page and bound at the code exchange.
test("8 windows share one non-extractable DPoP key: the server sees one jkt, one refresh per expiry, every window's token works", async ({ herd, oauth }) => {
  test.setTimeout(90_000);
  const windows = await herd.open(8);
  await herd.signInThroughLoginPage(windows[0]!);
  for (const win of windows) await herd.waitForStatus(win, 'signed-in');
  const keys = await Promise.all(windows.map((win) => inspectDpopKey(win, SESSION_KEY)));
  const jkt = keys[0]?.jkt;
  expect(jkt).toEqual(expect.any(String));
  expect(keys).toEqual(windows.map(() => ({ jkt, extractable: false, exports: ['InvalidAccessError', 'InvalidAccessError'] })));
  oauth.resetStats();
  await herd.sharedToken(await herd.tokensAtExpiry(windows));
  expect(oauth.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1, invalidGrant: 0, maxConcurrentRefreshes: 1, grantsRevoked: 0 });
  const answers = await Promise.all(windows.map((win) => win.evaluate(() => window.tokenherdDemo.api())));
  expect(answers).toEqual(windows.map(() => ({ ok: true, status: 200 })));
  expect(oauth.dpopStats()).toMatchObject({ jkts: [jkt], userinfoOk: windows.length });
});
