import { deleteDatabase } from './idb.js';
import { expect, test } from './fixtures.js';

const token = () => window.tokenherdDemo.token();

test('the window holding the lock is closed mid-refresh: another window completes it', async ({ herd, oauth }) => {
  const windows = await herd.openSignedIn(4);
  let arrived!: () => void;
  const leaderSent = new Promise<void>((resolve) => (arrived = resolve));
  oauth.onRefreshRequest(async ({ clientGone }) => {
    oauth.onRefreshRequest(undefined);
    arrived();
    await clientGone; // held until the leader's window is gone: the provider never sees this request
  });
  const atExpiry = herd.tokensAtExpiry(windows).catch(() => []); // the leader's own call dies with its window
  await leaderSent;
  const holds = await Promise.all(windows.map(async (win) => (await herd.state(win)).holdsLock));
  expect(holds.filter(Boolean)).toHaveLength(1);
  const leader = windows[holds.indexOf(true)]!;
  const survivors = windows.filter((win) => win !== leader);
  const outcome = Promise.all(survivors.map((win) => win.evaluate(() => window.tokenherdDemo.tokenAt(0))));
  await leader.close();
  await herd.sharedToken(await outcome);
  await atExpiry;
  expect(oauth.stats()).toMatchObject({ refreshAbandoned: 1, refreshSucceeded: 1, invalidGrant: 0, grantsRevoked: 0 });
});

test('IndexedDB deleted under running windows: every window reports signed out, and nothing loops', async ({ herd, oauth }) => {
  const windows = await herd.openSignedIn(3);
  expect(await deleteDatabase(windows[0]!)).toBe('deleted');
  for (const win of windows) await herd.waitForStatus(win, 'signed-out');
  for (const win of windows) expect(await win.evaluate(token)).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
  expect(oauth.stats().refreshRequests).toBe(0);
});

test.describe('the back/forward cache', () => {
  // Long-lived access tokens: nothing but the restore itself may make the window re-read.
  test.use({ serverOptions: { accessTokenTtlSeconds: 600 } });

  test('a window restored from the cache re-reads the generation rotated meanwhile and sends no request', async ({ herd, oauth }) => {
    const [cached, other] = await herd.openSignedIn(2);
    const before = (await herd.state(cached!)).generation;
    await cached!.evaluate(() => {
      const marked = window as unknown as { bfcacheMarker: string; pageshows: boolean[] };
      marked.bfcacheMarker = 'kept';
      marked.pageshows = [];
      addEventListener('pageshow', (event) => marked.pageshows.push(event.persisted));
    });
    oauth.resetStats();
    await cached!.goto(herd.url(0, { session: 'elsewhere' })); // another page of the app, same origin
    await cached!.evaluate(() => window.tokenherdDemo.ready);
    expect(await other!.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }))).toMatchObject({ ok: true });
    await cached!.back();
    await cached!.waitFor(() => new URLSearchParams(location.search).get('session') === 'e2e' && 'tokenherdDemo' in window, undefined);
    const restored = await cached!.evaluate(() => {
      const marked = window as unknown as { bfcacheMarker?: string; pageshows?: boolean[] };
      return { marker: marked.bfcacheMarker, pageshows: marked.pageshows };
    });
    expect(restored, 'the page came back from the back/forward cache, its heap intact').toEqual({ marker: 'kept', pageshows: [true] });
    // Converges on its own, before anything asks it for a token: the restore made it re-read.
    await cached!.waitFor((g) => window.tokenherdDemo.coordinator.getState().generation === g, before + 1);
    await herd.sharedToken(await Promise.all([cached!, other!].map((win) => win.evaluate(token))));
    expect((await herd.state(cached!)).refreshRequests).toBe(0);
    expect(oauth.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1, invalidGrant: 0, grantsRevoked: 0 });
  });
});
