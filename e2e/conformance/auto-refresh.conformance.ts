import type { EngineWindow } from './driver.js';
import { expect, test } from './fixtures.js';

/** The generation `win` holds, once it holds at least `generation`. */
const reach = (win: EngineWindow, generation: number) =>
  win.waitFor((g) => window.tokenherdDemo.coordinator.getState().generation >= g, generation, 30_000);

test.describe('auto refresh (issue 15): the role in each engine', () => {
  test.use({ serverOptions: { accessTokenTtlSeconds: 4 } });

  test('one window holds the role and refreshes ahead of expiry for all, with no caller; closing it hands the role on', async ({ herd, oauth }) => {
    test.setTimeout(90_000);
    const all = await herd.openSignedIn(4, { query: { auto: '1' } });
    const roles = async (windows: EngineWindow[]) => (await Promise.all(windows.map((win) => herd.state(win)))).map((s) => s.holdsRole);
    await expect.poll(async () => (await roles(all)).filter(Boolean).length).toBe(1);
    // Two expiries with no caller: every window takes each rotation from the announcement.
    for (const win of all) await reach(win, 3);
    const holder = all[(await roles(all)).indexOf(true)]!;
    const rest = all.filter((win) => win !== holder);
    await holder.close();
    await expect.poll(async () => (await roles(rest)).filter(Boolean).length).toBe(1);
    const { generation } = await herd.state(rest[0]!);
    for (const win of rest) await reach(win, generation + 1);
    // Ahead of expiry: every window holds a token that is still valid, which the server accepts.
    const now = await rest[0]!.evaluate(() => Date.now());
    for (const win of rest) expect((await herd.state(win)).expiresAt).toBeGreaterThan(now);
    const token = await herd.sharedToken(await Promise.all(rest.map((win) => win.evaluate(() => window.tokenherdDemo.token()))));
    expect(await oauth.accessTokenValid(token)).toBe(true);
    // Every request rotated once: none was sent twice, none ran beside another.
    const stats = oauth.stats();
    expect(stats.refreshRequests).toBeGreaterThanOrEqual(3);
    expect(stats).toMatchObject({ refreshSucceeded: stats.refreshRequests, invalidGrant: 0, grantsRevoked: 0, maxConcurrentRefreshes: 1 });
  });
});
