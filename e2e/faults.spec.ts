import type { Page } from '@playwright/test';
import { expect, test, SESSION_KEY } from './support/fixtures.js';
import { readRecord } from './support/idb.js';

const LOCK = `tokenherd:${SESSION_KEY}`;
type Stored = { generation: number; state: string; tokens: { accessToken: string; refreshToken: string }; backoff?: { since: number; ms: number } };

const stored = (page: Page) => readRecord(page, SESSION_KEY) as Promise<Stored>;
const token = (page: Page) => page.evaluate(() => window.tokenherdDemo.token());
const events = (page: Page) => page.evaluate(() => window.tokenherdDemo.events);
const lockState = (page: Page) =>
  page.evaluate(async (name) => {
    const { held = [], pending = [] } = await navigator.locks.query();
    return { held: held.filter((l) => l.name === name).length, pending: pending.filter((l) => l.name === name).length };
  }, LOCK);

test.describe('transient failures (scenarios 10, 11)', () => {
  test.use({ emulation: 'oidc' });

  test('5xx and 429 are retried with backoff, Retry-After is honoured, and the session is kept', async ({ app, gateway }) => {
    const pages = await app.openSignedIn(3, { query: { retry_base: '50' } });
    gateway!.script({ status: 503 }, { status: 429, retryAfter: '1' });
    const results = await app.tokensAtExpiry(pages);
    expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(results[0]).toMatchObject({ ok: true });
    expect(gateway!.stats()).toMatchObject({ refreshRequests: 3, forwarded: 1, consumed: 1, grantsRevoked: 0 });
    const leaderEvents = (await Promise.all(pages.map(events))).find((list) => list.some((e) => e.type === 'refresh-started'))!;
    const failures = leaderEvents.filter((e) => e.type === 'refresh-failed');
    expect(failures.map((e) => e.type === 'refresh-failed' && [e.code, e.willRetry])).toEqual([
      ['TRANSIENT', true],
      ['TRANSIENT', true],
    ]);
    const third = leaderEvents.find((e) => e.type === 'refresh-started' && e.attempt === 3)!;
    expect(third.at - failures[1]!.at).toBeGreaterThanOrEqual(1000);
  });

  test('a provider that stays down: one burst of requests for all windows, TRANSIENT for all, backoff shared, then recovery', async ({ app, gateway }) => {
    const pages = await app.openSignedIn(4, { query: { retry_attempts: '2', retry_base: '50' } });
    gateway!.script({ status: 503 }, { status: 503, retryAfter: '2' });
    const results = await app.tokensAtExpiry(pages);
    expect(results.map((r) => !r.ok && r.code)).toEqual(['TRANSIENT', 'TRANSIENT', 'TRANSIENT', 'TRANSIENT']);
    expect(gateway!.stats().refreshRequests).toBe(2);
    const record = await stored(pages[0]!);
    expect(record).toMatchObject({ state: 'active', generation: 1 });
    expect(record.backoff).toMatchObject({ ms: 2_000 });
    const backoffUntil = record.backoff!.since + record.backoff!.ms;
    expect(backoffUntil).toBeGreaterThan(Date.now());
    const later = await Promise.all(pages.map((page) => page.evaluate((at) => window.tokenherdDemo.tokenAt(at), backoffUntil + 1)));
    expect(new Set(later.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(later[0]).toMatchObject({ ok: true });
    expect(gateway!.stats()).toMatchObject({ refreshRequests: 3, consumed: 1, grantsRevoked: 0 });
  });

  test('a hung provider: the request times out, the lock is released, TRANSIENT, and the next call works', async ({ app, gateway, oauth }) => {
    const [page] = await app.open(1, { query: { request_timeout: '1000' } });
    await app.signIn(page!);
    gateway!.script('hang');
    const [hung] = await app.tokensAtExpiry([page!]);
    expect(hung).toMatchObject({ ok: false, code: 'TRANSIENT', message: expect.stringContaining('1000 ms') });
    expect(await lockState(page!)).toEqual({ held: 0, pending: 0 });
    const next = await token(page!);
    expect(next.ok && (await oauth.accessTokenValid(next.token))).toBe(true);
    expect(gateway!.stats()).toMatchObject({ refreshRequests: 2, forwarded: 1, grantsRevoked: 0 });
  });
});

test.describe('lost responses with a provider that revokes on reuse (scenarios 8, 9)', () => {
  test.use({ emulation: 'oidc' });

  // The response is lost by a timeout, not a reset: Chromium transparently resends a request
  // whose reused keep-alive connection is reset, which with this provider is itself a reuse.
  test('a response lost after rotation is not resent blindly; the next refresh tells the outcome once, clearly', async ({ app, gateway }) => {
    const pages = await app.open(2, { query: { request_timeout: '1000' } });
    await app.signIn(pages[0]!);
    await app.waitForStatus(pages[1]!, 'signed-in');
    gateway!.script({ forward: true, then: 'hang' });
    const [lost] = await app.tokensAtExpiry([pages[0]!]);
    expect(lost).toMatchObject({ ok: false, code: 'TRANSIENT' });
    expect(gateway!.stats()).toMatchObject({ refreshRequests: 1, consumed: 1 });
    expect(await token(pages[1]!)).toMatchObject({ ok: false, code: 'SESSION_EXPIRED', message: expect.stringContaining('response lost') });
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-out')));
    expect(await token(pages[0]!)).toMatchObject({ ok: false, code: 'SESSION_EXPIRED' });
    expect(gateway!.stats().refreshRequests).toBe(2);
  });

  test('the leader closed after the provider consumed the token: the successor ends the session once, clearly', async ({ app, gateway }) => {
    const pages = await app.openSignedIn(3);
    gateway!.script({ forward: true, then: 'hang' });
    const leader = pages[0]!;
    void leader.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true })).catch(() => {});
    await expect.poll(() => gateway!.stats().consumed).toBe(1);
    await leader.close();
    const results = await app.tokensAtExpiry(pages.slice(1));
    expect(results.map((r) => !r.ok && r.code)).toEqual(['SESSION_EXPIRED', 'SESSION_EXPIRED']);
    expect(results.some((r) => !r.ok && r.message.includes('response lost'))).toBe(true);
    expect(gateway!.stats().refreshRequests).toBe(2);
  });
});

test.describe('a provider with a reuse grace window (Auth0 overlap, Okta grace)', () => {
  test.use({ emulation: { graceSeconds: 30 } });

  test('a response lost after rotation is recovered by sending the same token inside the window', async ({ app, gateway, oauth }) => {
    const pages = await app.open(2, { query: { profile: 'grace:30', retry_base: '50' } });
    await app.signIn(pages[0]!);
    await app.waitForStatus(pages[1]!, 'signed-in');
    gateway!.script({ forward: true, then: 'reset' });
    const results = await app.tokensAtExpiry(pages);
    expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(results[0]!.ok && (await oauth.accessTokenValid(results[0]!.token))).toBe(true);
    expect(gateway!.stats()).toMatchObject({ refreshRequests: 2, consumed: 2, replayed: 1, grantsRevoked: 0 });
  });

  test('the leader closed after the provider consumed the token: the successor recovers by grace', async ({ app, gateway, oauth }) => {
    const pages = await app.openSignedIn(3, { query: { profile: 'grace:30' } });
    gateway!.script({ forward: true, then: 'hang' });
    void pages[0]!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true })).catch(() => {});
    await expect.poll(() => gateway!.stats().consumed).toBe(1);
    await pages[0]!.close();
    // Right away, inside the window: the replayed answer carries the access token issued to the closed leader.
    const results = await Promise.all(pages.slice(1).map((page) => page.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }))));
    expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(results[0]!.ok && (await oauth.accessTokenValid(results[0]!.token))).toBe(true);
    expect(gateway!.stats()).toMatchObject({ replayed: 1, grantsRevoked: 0 });
  });
});

test.describe('GitHub (scenario 21)', () => {
  test.use({ emulation: 'github', clientSecret: 'app-secret' });
  const github = { profile: 'github', client_secret: 'app-secret' };

  test('with its client secret, one refresh per expiry; the old access token dies and every window holds the new one', async ({ app, gateway, oauth }) => {
    const pages = await app.openSignedIn(4, { query: github });
    const before = await token(pages[1]!);
    for (let expiry = 1; expiry <= 2; expiry++) {
      const results = await app.tokensAtExpiry(pages);
      expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
      expect(results[0]!.ok && (await oauth.accessTokenValid(results[0]!.token))).toBe(true);
      expect(gateway!.stats()).toMatchObject({ refreshRequests: expiry, consumed: expiry, grantsRevoked: 0 });
    }
    expect(before.ok && (await oauth.accessTokenValid(before.token))).toBe(false);
  });

  test('bad_refresh_token in an HTTP 200 body is a rejection: SESSION_EXPIRED, not an invalid response', async ({ app, oauth }) => {
    const [page] = await app.open(1, { query: github });
    await app.signIn(page!);
    await oauth.refreshOutside((await stored(page!)).tokens.refreshToken);
    const [result] = await app.tokensAtExpiry([page!]);
    expect(result).toMatchObject({ ok: false, code: 'SESSION_EXPIRED', message: expect.stringContaining('bad_refresh_token') });
  });

  test('a wrong client secret is a PROVIDER_ERROR and the session is kept', async ({ app }) => {
    const [page] = await app.open(1, { query: { ...github, client_secret: 'wrong' } });
    await app.signIn(page!);
    const [result] = await app.tokensAtExpiry([page!]);
    expect(result).toMatchObject({ ok: false, code: 'PROVIDER_ERROR', message: expect.stringContaining('incorrect_client_credentials') });
    expect(await stored(page!)).toMatchObject({ state: 'active', generation: 1 });
  });
});

test.describe('a non-rotating provider (Google, Entra)', () => {
  test.use({ emulation: 'non-rotating' });

  test('the refresh token is kept across refreshes, and a lost response is simply sent again', async ({ app, gateway }) => {
    const pages = await app.openSignedIn(3, { query: { profile: 'non-rotating', retry_base: '50' } });
    const { refreshToken } = (await stored(pages[0]!)).tokens;
    gateway!.script({ forward: true, then: 'reset' });
    const results = await app.tokensAtExpiry(pages);
    expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(results[0]).toMatchObject({ ok: true });
    expect(await stored(pages[0]!)).toMatchObject({ generation: 2, tokens: { refreshToken } });
    expect(gateway!.stats()).toMatchObject({ refreshRequests: 2, grantsRevoked: 0 });
  });
});

test.describe('bad token responses (scenario 20)', () => {
  test.use({ emulation: 'oidc' });

  test('malformed responses are refused with INVALID_TOKEN_RESPONSE and the stored session is unchanged', async ({ app, gateway }) => {
    const [page] = await app.open(1);
    const bodies: Array<string | Record<string, unknown>> = [
      'not json',
      { token_type: 'Bearer', expires_in: 3600 },
      { access_token: 'a', token_type: 'mac', expires_in: 3600 },
      { access_token: 'a', token_type: 'Bearer', expires_in: -5 },
      { access_token: 'a', token_type: 'Bearer', expires_in: 1e12 },
      { access_token: 'a', token_type: 'Bearer', expires_in: 'soon' },
    ];
    for (const body of bodies) {
      await app.signIn(page!);
      const before = await stored(page!);
      gateway!.script({ forward: true, then: { status: 200, body } });
      const [result] = await app.tokensAtExpiry([page!]);
      expect(result, JSON.stringify(body)).toMatchObject({ ok: false, code: 'INVALID_TOKEN_RESPONSE' });
      expect(await stored(page!)).toMatchObject({ generation: before.generation, state: 'active', tokens: before.tokens });
    }
  });
});

test.describe('lifecycle (scenarios 2, 13, 14, 15)', () => {
  test('windows frozen while another rotates catch up when they resume, without a request of their own', async ({ app, oauth, context }) => {
    const [active, frozen] = await app.open(2);
    await app.signIn(active!);
    await app.waitForStatus(frozen!, 'signed-in');
    const cdp = await context.newCDPSession(frozen!);
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    expect(await active!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }))).toMatchObject({ ok: true });
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await frozen!.waitForFunction(() => window.tokenherdDemo.coordinator.getState().generation === 2);
    expect(await token(frozen!)).toEqual(await token(active!));
    expect(oauth.stats().refreshRequests).toBe(1);
  });

  test('N windows waking together after expiry send one request', async ({ app, oauth, context }) => {
    const pages = await app.openSignedIn(8);
    const expiresAt = await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt!);
    const sessions = await Promise.all(pages.map((page) => context.newCDPSession(page)));
    await Promise.all(sessions.map((cdp) => cdp.send('Page.setWebLifecycleState', { state: 'frozen' })));
    // Asleep until the token has expired: waiting for that instant is the scenario.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt + 50 - Date.now())));
    await Promise.all(sessions.map((cdp) => cdp.send('Page.setWebLifecycleState', { state: 'active' })));
    const results = await Promise.all(pages.map(token));
    expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(results[0]).toMatchObject({ ok: true });
    expect(oauth.stats()).toMatchObject({ refreshRequests: 1, grantsRevoked: 0 });
  });

  test('offline: one probe, nothing more until the browser is back online', async ({ app, oauth, context }) => {
    const [page] = await app.open(1);
    await app.signIn(page!);
    await context.setOffline(true);
    const [probe] = await app.tokensAtExpiry([page!]);
    expect(probe).toMatchObject({ ok: false, code: 'TRANSIENT' });
    expect(await token(page!)).toMatchObject({ ok: false, code: 'TRANSIENT', message: expect.stringContaining('Offline') });
    const started = (await events(page!)).filter((e) => e.type === 'refresh-started');
    expect(started).toHaveLength(1);
    expect(await stored(page!)).toMatchObject({ state: 'active', generation: 1 });
    expect(await stored(page!)).not.toHaveProperty('refreshInFlight');
    await context.setOffline(false);
    const back = await token(page!);
    expect(back.ok && (await oauth.accessTokenValid(back.token))).toBe(true);
  });

  test('a lock holder that never returns: waiters give up with LOCK_TIMEOUT, nobody steals, and the session is kept', async ({ app, oauth }) => {
    const [holder, waiter] = await app.open(2, { query: { lock_timeout: '1000' } });
    await app.signIn(holder!);
    await app.waitForStatus(waiter!, 'signed-in');
    await holder!.evaluate((name) => {
      void navigator.locks.request(name, () => new Promise(() => {}));
    }, LOCK);
    const [result] = await app.tokensAtExpiry([waiter!]);
    expect(result).toMatchObject({ ok: false, code: 'LOCK_TIMEOUT' });
    expect(await lockState(waiter!)).toEqual({ held: 1, pending: 0 });
    expect(oauth.stats().refreshRequests).toBe(0);
    await holder!.close();
    expect(await token(waiter!)).toMatchObject({ ok: true });
  });

  test('close() leaves no lock request, held lock or channel behind', async ({ app }) => {
    const [holder, closing] = await app.open(2);
    await app.signIn(holder!);
    await app.waitForStatus(closing!, 'signed-in');
    await holder!.evaluate((name) => {
      void navigator.locks.request(name, () => new Promise(() => {}));
    }, LOCK);
    const pending = closing!.evaluate(() => window.tokenherdDemo.tokenAt(window.tokenherdDemo.coordinator.getState().expiresAt! + 1));
    await expect.poll(() => lockState(closing!)).toEqual({ held: 1, pending: 1 });
    await closing!.evaluate(() => window.tokenherdDemo.coordinator.close());
    expect(await pending).toMatchObject({ ok: false, code: 'CLOSED' });
    expect(await lockState(closing!)).toEqual({ held: 1, pending: 0 });
  });
});

/** Site data cleared: the open windows' connections close themselves, so nothing blocks the deletion. */
const deleteDatabase = () =>
  new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase('tokenherd');
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('blocked'));
  });

test.describe('storage (scenarios 16, 17)', () => {
  test('IndexedDB deleted while running: every window reports signed out, and nothing loops', async ({ app, oauth }) => {
    const pages = await app.openSignedIn(3);
    await pages[0]!.evaluate(deleteDatabase);
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-out')));
    for (const page of pages) expect(await token(page)).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
    expect(oauth.stats().refreshRequests).toBe(0);
  });

  test.describe('with a refresh held at the provider', () => {
    test.use({ emulation: 'oidc' });

    test('IndexedDB deleted during a refresh, then a new sign-in: the old refresh does not overwrite it (I10, hole 3)', async ({ app, gateway, oauth }) => {
      const [refresher, other] = await app.openSignedIn(2);
      let release!: () => void;
      gateway!.script({ until: new Promise<void>((resolve) => (release = resolve)) });
      const refreshing = refresher!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
      await expect.poll(() => gateway!.stats().refreshRequests).toBe(1);
      await other!.evaluate(deleteDatabase);
      await app.signIn(other!);
      const signedIn = await stored(other!);
      expect(signedIn).toMatchObject({ generation: 1, state: 'active' });
      release();
      // The old grant really rotates, but its compare-and-set names the old session: refused, and the new session is used.
      expect(await refreshing).toEqual({ ok: true, token: signedIn.tokens.accessToken });
      expect(gateway!.stats()).toMatchObject({ refreshRequests: 1, consumed: 1, grantsRevoked: 0 });
      expect(await stored(other!)).toEqual(signedIn);
      for (const page of [refresher!, other!]) expect(await token(page)).toEqual({ ok: true, token: signedIn.tokens.accessToken });
      expect(await oauth.accessTokenValid(signedIn.tokens.accessToken)).toBe(true);
    });
  });

  test('a newer app version upgrading the schema is not blocked by open windows', async ({ app }) => {
    const pages = await app.openSignedIn(3);
    const upgraded = await pages[0]!.evaluate(
      () =>
        new Promise<string>((resolve) => {
          const request = indexedDB.open('tokenherd', 3); // one above the current schema (2: DPoP stores)
          request.onblocked = () => resolve('blocked');
          request.onsuccess = () => {
            request.result.close();
            resolve('upgraded');
          };
        }),
    );
    expect(upgraded).toBe('upgraded');
  });
});

test('clock skew: a local clock hours off neither loops nor signs out (scenario 23)', async ({ app, oauth, context }) => {
  await context.clock.install({ time: Date.now() + 5 * 3600 * 1000 });
  await context.clock.resume();
  const pages = await app.open(2);
  await app.signIn(pages[0]!);
  await app.waitForStatus(pages[1]!, 'signed-in');
  for (let expiry = 1; expiry <= 2; expiry++) {
    const results = await app.tokensAtExpiry(pages);
    expect(new Set(results.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(results[0]!.ok && (await oauth.accessTokenValid(results[0]!.token))).toBe(true);
    expect(oauth.stats().refreshRequests).toBe(expiry);
  }
});
