import type { Page } from '@playwright/test';
import { SESSION_KEY, expect, test, type App } from './support/fixtures.js';
import { clearStore, inspectDpopKey } from './support/idb.js';

// Every window runs `dpop: true` against a server that refuses token requests without a proof.
// Tokens live long enough that a round of API calls from 32 windows on a loaded machine ends before
// the next expiry: the refresh counts below are per expiry, and a round crossing one would add its own.
test.use({ dpop: true, serverOptions: { accessTokenTtlSeconds: 10, dpop: 'required' } });

const EXPIRIES = 2;

/** Every page calls the DPoP-protected userinfo endpoint through coordinator.fetch at once. */
const apiFromAll = (pages: Page[]) => Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.api())));

async function signedIn(app: App, windows: number): Promise<Page[]> {
  const pages = await app.open(windows);
  await app.signInThroughLoginPage(pages[0]!);
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
  return pages;
}

for (const windows of [2, 8, 32]) {
  test(`${windows} windows share one DPoP key: the server sees one jkt, one refresh per expiry, every window's token works`, async ({ app, oauth }) => {
    test.setTimeout(60_000 + windows * 4_000); // 32 windows and a sign-in through the login pages, on 2 shared cores
    const pages = await signedIn(app, windows);
    const key = await inspectDpopKey(pages[windows - 1]!, SESSION_KEY);
    expect(key?.jkt).toEqual(expect.any(String));
    oauth.resetStats();
    for (let expiry = 1; expiry <= EXPIRIES; expiry++) {
      await app.sharedToken(await app.tokensAtExpiry(pages));
      expect(oauth.stats()).toMatchObject({ refreshRequests: expiry, refreshSucceeded: expiry, invalidGrant: 0, maxConcurrentRefreshes: 1 });
      const answers = await apiFromAll(pages);
      expect(answers.filter((answer) => !(answer.ok && answer.status === 200))).toEqual([]);
    }
    expect(oauth.dpopStats()).toMatchObject({ jkts: [key!.jkt], userinfoOk: windows * EXPIRIES });
    expect(oauth.stats().grantsRevoked).toBe(0);
  });
}

test('the private key cannot be exported, in any window', async ({ app }) => {
  const pages = await signedIn(app, 2);
  for (const page of pages) {
    expect(await inspectDpopKey(page, SESSION_KEY)).toMatchObject({ extractable: false, exports: ['InvalidAccessError', 'InvalidAccessError'] });
  }
});

test.describe('replayed proofs', () => {
  // Long enough that the token a captured userinfo request carried is still alive when it is replayed.
  test.use({ serverOptions: { accessTokenTtlSeconds: 8, dpop: 'required' } });

  test('a replayed proof is refused, at the resource and at the token endpoint, and the session survives', async ({ app, oauth }) => {
    const pages = await signedIn(app, 2);
    const captured = new Map<string, { url: string; method: string; headers: Record<string, string>; body: string | null }>();
    const reading: Array<Promise<void>> = [];
    for (const page of pages) {
      page.on('request', (request) => {
        reading.push(
          request.allHeaders().then((headers) => {
            if (headers['dpop'] !== undefined) captured.set(new URL(request.url()).pathname, { url: request.url(), method: request.method(), headers, body: request.postData() });
          }),
        );
      });
    }
    const replay = async (path: string) => {
      await Promise.all(reading);
      const { url, method, headers, body } = captured.get(new URL(path).pathname)!;
      return fetch(url, { method, headers, ...(body !== null && { body }) });
    };
    await app.sharedToken(await app.tokensAtExpiry(pages)); // a refresh request to capture, and a fresh token
    expect(await pages[0]!.evaluate(() => window.tokenherdDemo.api())).toEqual({ ok: true, status: 200 });

    const atResource = await replay(oauth.userinfoEndpoint);
    expect(atResource.status).toBe(401);
    expect(atResource.headers.get('www-authenticate')).toMatch(/^DPoP /);
    const atTokenEndpoint = await replay(oauth.tokenEndpoint);
    expect(atTokenEndpoint.status).toBe(400);
    expect(await atTokenEndpoint.json()).toMatchObject({ error: 'invalid_grant' });
    expect(oauth.dpopStats().replaysRefused).toBe(2);

    // The replayed refresh token had been rotated, yet the grant lives: the replay check comes before reuse detection.
    expect(oauth.stats().grantsRevoked).toBe(0);
    await app.sharedToken(await app.tokensAtExpiry(pages));
    expect(await apiFromAll(pages)).toEqual([{ ok: true, status: 200 }, { ok: true, status: 200 }]);
  });
});

test.describe('the server demands DPoP nonces', () => {
  test.use({ serverOptions: { accessTokenTtlSeconds: 10, dpop: 'required', dpopNonceRequired: true } });

  test('the nonce learned at sign-in serves every window: one challenge in all, not one per window', async ({ app, oauth }) => {
    const pages = await signedIn(app, 8);
    expect(oauth.dpopStats().nonceChallenges).toBe(1); // the code exchange's
    const answers = await apiFromAll(pages);
    expect(answers.filter((answer) => !(answer.ok && answer.status === 200))).toEqual([]);
    await app.sharedToken(await app.tokensAtExpiry(pages));
    expect(oauth.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1 });
    expect(oauth.dpopStats().nonceChallenges).toBe(1);
  });

  test('windows that know no nonce reach the server in turn until one has learned it: one challenge, not N', async ({ app, oauth }) => {
    const [signer, ...others] = await signedIn(app, 8);
    await clearStore(signer!, 'dpopNonces'); // the other windows have made no request yet: none knows a nonce
    oauth.resetStats();
    const answers = await apiFromAll(others);
    expect(answers.filter((answer) => !(answer.ok && answer.status === 200))).toEqual([]);
    expect(oauth.dpopStats()).toMatchObject({ nonceChallenges: 1, userinfoOk: others.length });
  });
});

test('the key deleted from IndexedDB: SESSION_EXPIRED in every window, no request sent, nothing loops', async ({ app, oauth }) => {
  const pages = await signedIn(app, 4);
  await clearStore(pages[0]!, 'dpopKeys');
  oauth.resetStats();
  const results = await app.tokensAtExpiry(pages);
  expect(results.map((result) => (result.ok ? 'token' : result.code))).toEqual(Array(4).fill('SESSION_EXPIRED'));
  await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-out')));
  // Asked again, every window answers from the stored tombstone at once, in fetch as in getAccessToken.
  const again = await apiFromAll(pages);
  expect(again.map((answer) => (answer.ok ? answer.status : answer.code))).toEqual(Array(4).fill('SESSION_EXPIRED'));
  const attempts = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.events.filter((e) => e.type === 'refresh-started').length)));
  expect(attempts.reduce((a, b) => a + b, 0)).toBe(1); // the one window that found no key under the lock
  const reasons = await pages[attempts.indexOf(1)]!.evaluate(() =>
    window.tokenherdDemo.events.flatMap((e) => (e.type === 'refresh-failed' ? [`${e.code}: ${e.reason}`] : [])),
  );
  expect(reasons).toEqual([expect.stringMatching(/^SESSION_EXPIRED: .*dpop_key_missing/)]);
  expect(oauth.stats().refreshRequests).toBe(0);
  expect(oauth.dpopStats().userinfoRequests).toBe(0);
});

test('sign-out deletes the key; the next sign-in binds the session to a new one', async ({ app, oauth }) => {
  const pages = await signedIn(app, 2);
  const [signer, watcher] = pages as [Page, Page];
  const before = await inspectDpopKey(watcher, SESSION_KEY);
  expect(await watcher.evaluate(() => window.tokenherdDemo.api())).toEqual({ ok: true, status: 200 });
  await watcher.evaluate(() => window.tokenherdDemo.coordinator.signOut());
  await app.waitForStatus(signer, 'signed-out');
  expect(await inspectDpopKey(signer, SESSION_KEY)).toBeUndefined();
  await app.signInThroughLoginPage(signer);
  await app.waitForStatus(watcher, 'signed-in');
  const after = await inspectDpopKey(watcher, SESSION_KEY);
  expect(after?.jkt).toEqual(expect.any(String));
  expect(after?.jkt).not.toBe(before?.jkt);
  expect(await watcher.evaluate(() => window.tokenherdDemo.api())).toEqual({ ok: true, status: 200 });
  expect(new Set(oauth.dpopStats().jkts)).toEqual(new Set([before!.jkt, after!.jkt]));
});
