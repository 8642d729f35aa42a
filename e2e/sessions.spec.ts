import { expect, test, SESSION_KEY } from './support/fixtures.js';
import { putRecord, readRecord } from './support/idb.js';

const state = () => window.tokenherdDemo.coordinator.getState();

test.describe('propagation', () => {
  // Tokens that outlive the test on a loaded machine: what is checked is propagation, not expiry.
  test.use({ serverOptions: { accessTokenTtlSeconds: 300 } });

  test('sign-in and sign-out in one window reach every other window', async ({ app, oauth }) => {
    const pages = await app.open(4);
    expect(await pages[3]!.evaluate(() => window.tokenherdDemo.token())).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
    await app.signIn(pages[0]!);
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
    const tokens = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.token())));
    expect(new Set(tokens.map((t) => (t.ok ? t.token : t.code))).size).toBe(1);
    expect(oauth.stats().refreshRequests).toBe(0);

    await pages[2]!.evaluate(() => window.tokenherdDemo.coordinator.signOut());
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-out')));
    for (const page of pages) {
      expect(await page.evaluate(() => window.tokenherdDemo.token())).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
      expect(await page.evaluate(() => window.tokenherdDemo.events.filter((e) => e.type === 'session-changed').map((e) => e.type === 'session-changed' && e.change))).toEqual(
        ['signed-in', 'signed-out'],
      );
    }
  });
});

test('a sign-out racing a refresh wins: the late refresh result is not written back', async ({ app, oauth }) => {
  const [refresher, other] = await app.open(2);
  await app.signIn(refresher!);
  await app.waitForStatus(other!, 'signed-in');
  let arrived!: () => void;
  let release!: () => void;
  const sent = new Promise<void>((resolve) => (arrived = resolve));
  const held = new Promise<void>((resolve) => (release = resolve));
  oauth.onRefreshRequest(async () => {
    arrived();
    await held;
  });
  const late = refresher!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
  await sent;
  await other!.evaluate(() => window.tokenherdDemo.coordinator.signOut());
  release();
  expect(await late).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
  expect(oauth.stats().refreshSucceeded).toBe(1);
  expect(await readRecord(refresher!, SESSION_KEY)).toMatchObject({ state: 'signed-out', cause: 'signed-out', generation: 2 });
  await app.waitForStatus(refresher!, 'signed-out');
});

test('a second browser context (another storage partition) is unaffected by the first', async ({ app, oauth, browser }) => {
  const isolated = await browser.newContext();
  try {
    const pages = await app.open(3);
    const [alone] = await app.open(1, { context: isolated });
    await app.signIn(pages[0]!);
    await app.signIn(alone!);
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-in')));
    const [shared, separate] = await Promise.all([app.tokensAtExpiry(pages), app.tokensAtExpiry([alone!])]);
    expect(new Set(shared.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
    expect(separate[0]).toMatchObject({ ok: true });
    expect(oauth.stats()).toMatchObject({ refreshRequests: 2, refreshSucceeded: 2, grantsRevoked: 0 });
    await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.signOut());
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-out')));
    const kept = await alone!.evaluate(() => window.tokenherdDemo.token());
    expect(kept.ok && (await oauth.accessTokenValid(kept.token))).toBe(true);
    expect(await alone!.evaluate(state)).toMatchObject({ status: 'signed-in', generation: 2 });
  } finally {
    await isolated.close();
  }
});

test.describe('a provider that rejects reuse without revoking (GitHub-like)', () => {
  test.use({ serverOptions: { accessTokenTtlSeconds: 3, reuse: 'reject' } });

  test('a window refused with invalid_grant adopts the token another party stored, and keeps the session', async ({ app, oauth }) => {
    const [coordinated, outsider] = await app.open(2);
    await app.signIn(coordinated!);
    await app.waitForStatus(outsider!, 'signed-in');
    oauth.onRefreshRequest(async ({ refreshToken }) => {
      oauth.onRefreshRequest(undefined);
      // While the coordinated request is held, a party outside the lock (an old app
      // version) rotates the same refresh token and stores the result itself.
      const rotated = await oauth.refreshOutside(refreshToken);
      const stored = (await readRecord(outsider!, SESSION_KEY)) as { generation: number };
      await putRecord(outsider!, {
        sessionKey: SESSION_KEY,
        generation: stored.generation + 1,
        state: 'active',
        cause: 'rotated',
        tokens: {
          accessToken: rotated['access_token'],
          refreshToken: rotated['refresh_token'],
          expiresAt: Date.now() + Number(rotated['expires_in']) * 1000,
        },
        updatedAt: Date.now(),
      });
    });
    const result = await coordinated!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
    expect(oauth.stats()).toMatchObject({ refreshRequests: 2, refreshSucceeded: 1, invalidGrant: 1, grantsRevoked: 0 });
    expect(result.ok && (await oauth.accessTokenValid(result.token))).toBe(true);
    expect(await readRecord(coordinated!, SESSION_KEY)).toMatchObject({ state: 'active', generation: 2 });
    const changes = await coordinated!.evaluate(() =>
      window.tokenherdDemo.events.flatMap((e) => (e.type === 'session-changed' ? [e.change] : [])),
    );
    expect(changes).toEqual(['signed-in', 'adopted']);
  });

  test('a refused token with nothing newer stored signs every window out once, with SESSION_EXPIRED', async ({ app, oauth }) => {
    const pages = await app.openSignedIn(3);
    const stored = (await readRecord(pages[0]!, SESSION_KEY)) as { tokens: { refreshToken: string } };
    await oauth.refreshOutside(stored.tokens.refreshToken); // rotated elsewhere, the result never stored
    const results = await app.tokensAtExpiry(pages);
    expect(results.map((r) => !r.ok && r.code)).toEqual(['SESSION_EXPIRED', 'SESSION_EXPIRED', 'SESSION_EXPIRED']);
    expect(oauth.stats()).toMatchObject({ refreshRequests: 2, invalidGrant: 1 });
    await Promise.all(pages.map((page) => app.waitForStatus(page, 'signed-out')));
  });
});

test.describe('the channel', () => {
  test('announcements come after the store holds the new generation and carry its access token, never the refresh token', async ({ app, oauth }) => {
    const pages = await app.open(3);
    const listener = pages[2]!;
    await listener.evaluate((key) => {
      const seen: Array<{ message: unknown; stored: unknown }> = [];
      Object.assign(window, { seen });
      new BroadcastChannel(`tokenherd:${key}`).onmessage = (event) => {
        const open = indexedDB.open('tokenherd');
        open.onsuccess = () => {
          const get = open.result.transaction('sessions').objectStore('sessions').get(key);
          get.onsuccess = () => {
            seen.push({ message: event.data, stored: (get.result as { generation: number }).generation });
            open.result.close();
          };
        };
      };
    }, SESSION_KEY);
    await app.signIn(pages[0]!);
    await app.waitForStatus(pages[1]!, 'signed-in');
    await app.tokensAtExpiry(pages.slice(0, 2));
    await listener.waitForFunction(() => (window as unknown as { seen: unknown[] }).seen.length === 2);
    const seen = await listener.evaluate(() => (window as unknown as { seen: Array<{ message: { generation: number }; stored: number }> }).seen);
    const record = (await readRecord(listener, SESSION_KEY)) as { sessionId: string; tokens: { refreshToken: string; accessToken: string; expiresAt: number } };
    // The session id goes with the token (both announcements: a rotation keeps the sign-in's id).
    const announced = { v: 2, type: 'session-changed', sessionKey: SESSION_KEY, accessToken: expect.any(String), expiresAt: expect.any(Number), sessionId: record.sessionId };
    expect(seen.map((s) => s.message)).toEqual([
      { ...announced, generation: 1, cause: 'signed-in' },
      { ...announced, generation: 2, cause: 'rotated', accessToken: record.tokens.accessToken, expiresAt: record.tokens.expiresAt },
    ]);
    for (const { message, stored } of seen) expect(stored).toBeGreaterThanOrEqual(message.generation);
    expect(JSON.stringify(seen)).not.toContain(record.tokens.refreshToken);
    expect(oauth.stats().refreshRequests).toBe(1);
  });

  test('malformed, oversized, stale and forged messages from a same-origin script change nothing', async ({ app, oauth }) => {
    const pages = await app.openSignedIn(3);
    const before = await readRecord(pages[1]!, SESSION_KEY);
    const tokens = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.token())));
    const attacker = pages[2]!;
    await attacker.evaluate((key) => {
      const channel = new BroadcastChannel(`tokenherd:${key}`);
      const forged = [
        null,
        'signed-out',
        42,
        [1, 2, 3],
        { v: 2, type: 'session-changed', sessionKey: key, generation: 99, cause: 'rotated', accessToken: 'forged', refreshToken: 'forged' },
        { v: 2, type: 'session-changed', sessionKey: key, generation: 99, accessToken: 'forged' },
        { v: 2, type: 'session-changed', sessionKey: key, generation: 99, cause: 'rotated', accessToken: 'forged', expiresAt: Number.MAX_VALUE },
        { v: 2, type: 'session-changed', sessionKey: key, generation: 99, cause: 'rotated', accessToken: 'f'.repeat(20_000) },
        { v: 1, type: 'session-changed', sessionKey: key, generation: 99 },
        { v: 2, type: 'signed-out', sessionKey: key, generation: 99 },
        { v: 2, type: 'session-changed', sessionKey: key, generation: -5 },
        { v: 2, type: 'session-changed', sessionKey: key.repeat(100_000), generation: 99 },
        { v: 2, type: 'session-changed', sessionKey: key, generation: 1 },
        { v: 2, type: 'session-changed', sessionKey: key, generation: 99 },
        { v: 2, type: 'session-changed', sessionKey: key, generation: 0 },
      ];
      for (const message of forged) channel.postMessage(message);
      channel.postMessage(new Uint8Array(4 * 1024 * 1024));
    }, SESSION_KEY);
    // A sentinel after the forged burst: once every window has handled it, the burst was handled too.
    await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.setSession({ access_token: 'sentinel', token_type: 'Bearer', expires_in: 3600 }));
    await Promise.all(pages.map((page) => page.waitForFunction(() => window.tokenherdDemo.coordinator.getState().generation === 2)));
    const changes = await Promise.all(
      pages.map((page) => page.evaluate(() => window.tokenherdDemo.events.flatMap((e) => (e.type === 'session-changed' ? [e.change] : [])))),
    );
    for (const list of changes) expect(list).toEqual(['signed-in', 'signed-in']);
    expect(tokens.every((t) => t.ok)).toBe(true);
    expect(before).toMatchObject({ generation: 1, state: 'active' });
    expect(oauth.stats().refreshRequests).toBe(0);
  });
});

test('a late announcement after a sign-out does not sign a window in again (issue 14, hole 2)', async ({ app }) => {
  const pages = await app.openSignedIn(2);
  const [other, victim] = [pages[0]!, pages[1]!];
  // The store moves on to a sign-out tombstone (generation 3) that the victim has not heard of; then its
  // hint and a late announcement of generation 2 arrive back to back, both before the victim's re-read.
  await putRecord(other, { sessionKey: SESSION_KEY, generation: 3, state: 'signed-out', cause: 'signed-out', updatedAt: Date.now() });
  await other.evaluate((key) => {
    const channel = new BroadcastChannel(`tokenherd:${key}`);
    channel.postMessage({ v: 2, type: 'session-changed', sessionKey: key, generation: 3 });
    channel.postMessage({ v: 2, type: 'session-changed', sessionKey: key, generation: 2, cause: 'rotated', accessToken: 'late', expiresAt: Date.now() + 3_600_000 });
  }, SESSION_KEY);
  await victim.waitForFunction(() => window.tokenherdDemo.coordinator.getState().generation === 3);
  expect(await victim.evaluate(() => window.tokenherdDemo.coordinator.getState().status)).toBe('signed-out');
  expect(await victim.evaluate(() => window.tokenherdDemo.token())).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
  expect(await victim.evaluate(() => window.tokenherdDemo.events.some((event) => event.type === 'session-changed' && event.generation === 2))).toBe(false);
});

test.describe('a forged announcement', () => {
  // Tokens that outlive the test, so that only the forgery can make a window change its token.
  test.use({ serverOptions: { accessTokenTtlSeconds: 300 } });

  test('a forged announcement with a token is dropped after one store read (hole 10): the store wins, with no refresh', async ({ app, oauth }) => {
    const pages = await app.openSignedIn(2);
    const [attacker, victim] = [pages[0]!, pages[1]!];
    const real = await victim.evaluate(() => window.tokenherdDemo.token());
    await attacker.evaluate((key) => {
      const forged = { v: 2, type: 'session-changed', sessionKey: key, generation: 1_000, cause: 'rotated', accessToken: 'forged', expiresAt: Date.now() + 3_600_000 };
      new BroadcastChannel(`tokenherd:${key}`).postMessage(forged);
    }, SESSION_KEY);
    // Taken up at once, then confirmed against IndexedDB off the callers' path: the store's token wins.
    await victim.waitForFunction(() => window.tokenherdDemo.events.some((event) => event.type === 'session-changed' && event.generation === 1_000));
    await victim.waitForFunction(() => window.tokenherdDemo.coordinator.getState().generation === 1);
    expect(await victim.evaluate(() => window.tokenherdDemo.token())).toEqual(real);
    const status = await victim.evaluate((url) => window.tokenherdDemo.coordinator.fetch(url).then((r) => r.status), oauth.userinfoEndpoint);
    expect(status).toBe(200);
    expect(await victim.evaluate(() => window.tokenherdDemo.coordinator.getState().generation)).toBe(1);
    expect(oauth.stats()).toMatchObject({ refreshRequests: 0, grantsRevoked: 0 });
  });
});

test.describe('coordinator.fetch errors', () => {
  test.use({ serverOptions: { accessTokenTtlSeconds: 300 } });

  test('a failed API request rejects with TRANSIENT, an aborted one with ABORTED, an invalid one with INVALID_OPTIONS; the session is kept', async ({ app, oauth }) => {
    const [page] = await app.open(1);
    await app.signIn(page!);
    const codes = await page!.evaluate(async () => {
      const { coordinator } = window.tokenherdDemo;
      const code = (call: () => Promise<unknown>) => call().then(() => 'resolved', (error: { code?: string }) => error.code ?? String(error));
      const aborted = new AbortController();
      aborted.abort();
      return [
        await code(() => coordinator.fetch('http://127.0.0.1:1/unreachable')),
        await code(() => coordinator.fetch('http://127.0.0.1:1/unreachable', { signal: aborted.signal })),
        await code(() => coordinator.fetch('http://[invalid')),
        await code(() => coordinator.getAccessToken({ minValiditySeconds: -1 })),
      ];
    });
    expect(codes).toEqual(['TRANSIENT', 'ABORTED', 'INVALID_OPTIONS', 'INVALID_OPTIONS']);
    expect(await page!.evaluate(() => window.tokenherdDemo.coordinator.getState().status)).toBe('signed-in');
    expect(oauth.stats().refreshRequests).toBe(0);
  });
});
