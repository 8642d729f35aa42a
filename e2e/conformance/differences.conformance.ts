/**
 * Where the engines differ under tokenherd: storage eviction (WebKit's ITP deletes a
 * site's script-writable storage after 7 days without user interaction), the
 * back/forward cache with an open BroadcastChannel and a held Web Lock, and
 * IndexedDB's `durability` hint. What each engine does is printed and written
 * down in docs/engines.md; what tokenherd needs of it is asserted.
 */
import { deleteDatabase } from './idb.js';
import { expect, test } from './fixtures.js';

const token = () => window.tokenherdDemo.token();

/** Prints an observed engine behaviour with the test's results, and returns it. */
function observe<T>(engine: string, what: string, value: T): T {
  test.info().annotations.push({ type: 'observed', description: `${engine}: ${what} = ${JSON.stringify(value)}` });
  console.log(`observed in ${engine}: ${what} = ${JSON.stringify(value)}`);
  return value;
}

test('storage evicted while no window ran (ITP after 7 days): a window opened later sees NOT_SIGNED_IN, and sends nothing', async ({ herd, oauth }) => {
  const windows = await herd.openSignedIn(2);
  // The app's windows are gone (their connections closed); then the whole database is deleted, as ITP does.
  for (const win of windows) await win.evaluate(() => window.tokenherdDemo.coordinator.close());
  expect(await deleteDatabase(windows[0]!)).toBe('deleted');
  const [later] = await herd.open(1);
  expect(await later!.evaluate(token)).toMatchObject({ ok: false, code: 'NOT_SIGNED_IN' });
  expect((await herd.state(later!)).status).toBe('signed-out');
  expect(oauth.stats()).toMatchObject({ refreshRequests: 0, grantsRevoked: 0 });
});

test('the session record deleted under running windows: at expiry every window reports NOT_SIGNED_IN, none sends a request', async ({ herd, oauth }) => {
  const windows = await herd.openSignedIn(3);
  await windows[0]!.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const opening = indexedDB.open('tokenherd');
        opening.onsuccess = () => {
          const tx = opening.result.transaction('sessions', 'readwrite');
          tx.objectStore('sessions').clear();
          tx.oncomplete = () => resolve(opening.result.close());
          tx.onerror = () => reject(tx.error);
        };
      }),
  );
  const results = await herd.tokensAtExpiry(windows);
  expect(results.map((r) => (r.ok ? 'token' : r.code))).toEqual(['NOT_SIGNED_IN', 'NOT_SIGNED_IN', 'NOT_SIGNED_IN']);
  expect(oauth.stats()).toMatchObject({ refreshRequests: 0, grantsRevoked: 0 });
});

test('a page holding a Web Lock with an open BroadcastChannel releases the lock when navigated away; whether it is cached is printed', async ({ herd, engine }) => {
  const [holder, watcher] = await herd.open(2);
  await holder!.evaluate(() => {
    const kept = window as unknown as { probe: BroadcastChannel; marker: string; pageshows: boolean[] };
    kept.probe = new BroadcastChannel('probe');
    kept.marker = 'kept';
    kept.pageshows = [];
    addEventListener('pageshow', (event) => kept.pageshows.push(event.persisted));
    void navigator.locks.request('probe-lock', () => new Promise(() => {}));
  });
  const held = () => navigator.locks.query().then((state) => (state.held ?? []).some((lock) => lock.name === 'probe-lock'));
  await watcher!.waitFor(held, undefined);
  await holder!.goto(herd.url(0, { session: 'elsewhere' }));
  // Whatever the cache does, the lock must not stay held by a page the user left: every other window would wait on it.
  await watcher!.waitFor(async () => !(await (async () => (await navigator.locks.query()).held?.some((lock) => lock.name === 'probe-lock'))()), undefined);
  await watcher!.evaluate(() => new BroadcastChannel('probe').postMessage('while away'));
  await holder!.back();
  await holder!.waitFor(() => new URLSearchParams(location.search).get('session') === 'e2e' && 'tokenherdDemo' in window, undefined);
  const restored = await holder!.evaluate(() => (window as unknown as { marker?: string }).marker === 'kept');
  observe(engine.version, 'page with a held lock and an open BroadcastChannel restored from the back/forward cache', restored);
  if (restored) expect(await watcher!.evaluate(held)).toBe(false); // a restored page does not get its old lock back
});

test("IndexedDB's durability hint: a strict transaction either reports 'strict' or ignores the option; it never throws", async ({ herd, engine }) => {
  const [win] = await herd.open(1);
  const durability = await win!.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const opening = indexedDB.open('tokenherd');
        opening.onsuccess = () => {
          const tx = opening.result.transaction('sessions', 'readwrite', { durability: 'strict' });
          const reported = (tx as { durability?: string }).durability ?? 'unsupported';
          tx.oncomplete = () => resolve(reported);
          tx.onerror = () => reject(tx.error);
          opening.result.close();
        };
      }),
  );
  expect(['strict', 'unsupported']).toContain(observe(engine.version, 'IDBTransaction.durability with { durability: "strict" }', durability));
});
