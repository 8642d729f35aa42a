import { putRecord, readRecord } from './idb.js';
import { SESSION_KEY, expect, test } from './fixtures.js';

const changes = () => window.tokenherdDemo.events.flatMap((e) => (e.type === 'session-changed' ? [e.change] : []));
const token = () => window.tokenherdDemo.token();

test.describe('propagation', () => {
  // Tokens that outlive the test on a loaded machine: what is checked is propagation, not expiry.
  test.use({ serverOptions: { accessTokenTtlSeconds: 300 } });

  test('sign-in and sign-out in one window reach every other window; a new sign-in after the sign-out too', async ({ herd, oauth }) => {
    const windows = await herd.open(4);
    expect(await windows[3]!.evaluate(token)).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
    await herd.signIn(windows[0]!);
    for (const win of windows) await herd.waitForStatus(win, 'signed-in');
    await herd.sharedToken(await Promise.all(windows.map((win) => win.evaluate(token))));

    await windows[2]!.evaluate(() => window.tokenherdDemo.coordinator.signOut());
    for (const win of windows) await herd.waitForStatus(win, 'signed-out');
    for (const win of windows) expect(await win.evaluate(token)).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });

    await herd.signIn(windows[1]!);
    for (const win of windows) await win.waitFor(() => window.tokenherdDemo.coordinator.getState().generation === 3, undefined);
    const again = await herd.sharedToken(await Promise.all(windows.map((win) => win.evaluate(token))));
    expect((await readRecord(windows[0]!, SESSION_KEY)) as object).toMatchObject({ state: 'active', generation: 3, tokens: { accessToken: again } });
    for (const win of windows) expect(await win.evaluate(changes)).toEqual(['signed-in', 'signed-out', 'signed-in']);
    expect(oauth.stats()).toMatchObject({ refreshRequests: 0, grantsRevoked: 0 });
  });
});

test.describe('a provider that rejects reuse without revoking (GitHub-like)', () => {
  test.use({ serverOptions: { accessTokenTtlSeconds: 3, reuse: 'reject' } });

  test('the window refused with a real invalid_grant adopts the token another party stored, and keeps the session', async ({ herd, oauth }) => {
    const [coordinated, outsider] = await herd.openSignedIn(2);
    oauth.onRefreshRequest(async ({ refreshToken }) => {
      oauth.onRefreshRequest(undefined);
      // While the coordinated request is held, a party outside the lock (an old app
      // version) rotates the same refresh token and stores the result itself.
      const rotated = await oauth.refreshOutside(refreshToken);
      const tokens = { accessToken: rotated['access_token'], refreshToken: rotated['refresh_token'], expiresAt: Date.now() + Number(rotated['expires_in']) * 1000 };
      const stored = (await readRecord(outsider!, SESSION_KEY)) as object;
      await putRecord(outsider!, { ...stored, generation: 2, cause: 'rotated', tokens, updatedAt: Date.now() });
    });
    const result = await coordinated!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
    expect(oauth.stats()).toMatchObject({ refreshRequests: 2, refreshSucceeded: 1, invalidGrant: 1, grantsRevoked: 0 });
    await herd.sharedToken([result]);
    expect(await readRecord(coordinated!, SESSION_KEY)).toMatchObject({ state: 'active', generation: 2 });
    expect(await coordinated!.evaluate(changes)).toEqual(['signed-in', 'adopted']);
  });
});

test.describe('the channel', () => {
  test('an announcement carries the access token the store holds, never the refresh token', async ({ herd, oauth }) => {
    const windows = await herd.open(3);
    await windows[2]!.evaluate((key) => {
      const seen: unknown[] = [];
      Object.assign(window, { seen });
      new BroadcastChannel(`tokenherd:${key}`).onmessage = (event) => seen.push(event.data);
    }, SESSION_KEY);
    await herd.signIn(windows[0]!);
    await herd.waitForStatus(windows[1]!, 'signed-in');
    await herd.sharedToken(await herd.tokensAtExpiry(windows.slice(0, 2)));
    await windows[2]!.waitFor(() => (window as unknown as { seen: unknown[] }).seen.length === 2, undefined);
    const seen = await windows[2]!.evaluate(() => (window as unknown as { seen: unknown[] }).seen);
    const record = (await readRecord(windows[2]!, SESSION_KEY)) as { sessionId: string; tokens: { refreshToken: string; accessToken: string; expiresAt: number } };
    // The session id goes with the token (both announcements: a rotation keeps the sign-in's id).
    const announced = { v: 2, type: 'session-changed', sessionKey: SESSION_KEY, accessToken: expect.any(String), expiresAt: expect.any(Number), sessionId: record.sessionId };
    expect(seen).toEqual([
      { ...announced, generation: 1, cause: 'signed-in' },
      { ...announced, generation: 2, cause: 'rotated', accessToken: record.tokens.accessToken, expiresAt: record.tokens.expiresAt },
    ]);
    expect(JSON.stringify(seen)).not.toContain(record.tokens.refreshToken);
    expect(oauth.stats().refreshRequests).toBe(1);
  });

  test('malformed, oversized, stale and forged messages from a same-origin script change nothing', async ({ herd, oauth, engineName }) => {
    const windows = await herd.openSignedIn(3);
    const before = await Promise.all(windows.map((win) => win.evaluate(token)));
    // WebKitGTK takes about 10 s to deliver a 4 MB message to two windows here, and under load lost the whole session (docs/engines.md).
    const binaryBytes = engineName === 'webkit' ? 256 * 1024 : 4 * 1024 * 1024;
    await windows[2]!.evaluate(({ key, bytes }) => {
      const channel = new BroadcastChannel(`tokenherd:${key}`);
      const session = { v: 2, type: 'session-changed', sessionKey: key };
      for (const message of [
        null,
        'signed-out',
        [1, 2, 3],
        { ...session, generation: 99, cause: 'rotated', accessToken: 'forged', refreshToken: 'forged' },
        { ...session, generation: 99, cause: 'rotated', accessToken: 'forged', expiresAt: Number.MAX_VALUE },
        { ...session, generation: 99, cause: 'rotated', accessToken: 'f'.repeat(20_000) },
        { ...session, v: 1, generation: 99 },
        { ...session, type: 'signed-out', generation: 99 },
        { ...session, generation: -5 },
        { ...session, sessionKey: key.repeat(100_000), generation: 99 },
        { ...session, generation: 1 },
      ])
        channel.postMessage(message);
      channel.postMessage(new Uint8Array(bytes));
    }, { key: SESSION_KEY, bytes: binaryBytes });
    // A sentinel after the burst: once every window has handled it, the burst was handled too.
    await windows[0]!.evaluate(() => window.tokenherdDemo.coordinator.setSession({ access_token: 'sentinel', token_type: 'Bearer', expires_in: 3600 }));
    for (const win of windows) await win.waitFor(() => window.tokenherdDemo.coordinator.getState().generation === 2, undefined);
    for (const win of windows) expect(await win.evaluate(changes)).toEqual(['signed-in', 'signed-in']);
    await herd.sharedToken(before);
    expect(oauth.stats().refreshRequests).toBe(0);
  });
});
