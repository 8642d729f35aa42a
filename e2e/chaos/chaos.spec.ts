/**
 * `npm run chaos`: N windows through many expiries with random faults, page closes
 * and reloads, against the gateway and the real server. After every step it checks:
 * no session lost that the provider did not revoke, never more than one refresh in
 * flight at the server, every window converges to the newest stored generation.
 *
 * `npm run chaos -- --seed S --steps N --windows N` (see e2e/chaos/run.ts) replays and
 * sizes it; it runs at up to 64 windows. The profile tolerates reuse for 30 s, so lost
 * responses are recoverable and no session may be lost at all.
 */
import type { Page } from '@playwright/test';
import { expect, test, SESSION_KEY } from '../support/fixtures.js';
import { readRecord } from '../support/idb.js';
import { CHAOS_QUERY, FAULTS, chaosSettings, converge, createRandom, openWindows } from './support.js';

const { seed, steps, windows } = chaosSettings({ windows: 6 });

test.use({ emulation: { graceSeconds: 30 } });

test(`chaos: ${windows} windows, ${steps} steps`, async ({ app, gateway, oauth }) => {
  // Every step waits for every window, and each window is a renderer process on a machine that may have 2 cores.
  const perWindowMs = 500;
  test.setTimeout(60_000 + windows * 2_000 + steps * (20_000 + windows * perWindowMs));
  const convergeMs = 10_000 + windows * perWindowMs;
  console.log(`chaos seed ${seed} (replay: npm run chaos -- --seed ${seed} --steps ${steps} --windows ${windows})`);
  const { random, pick } = createRandom(seed);

  const pages: Page[] = await openWindows(app, windows);
  await app.signIn(pages[0]!);

  const actions = {
    async expiry() {
      if (random() < 0.5) gateway!.script(pick(FAULTS));
      const results = await app.tokensAtExpiry(pages);
      return results.map((r) => (r.ok ? 'ok' : r.code));
    },
    async force() {
      if (random() < 0.3) gateway!.script(pick(FAULTS));
      const result = await pick(pages).evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
      return [result.ok ? 'ok' : result.code];
    },
    async closeMidRefresh() {
      const sent = gateway!.stats().refreshRequests;
      gateway!.script({ forward: true, then: 'hang' });
      const victim = pick(pages);
      void victim.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true })).catch(() => {});
      await expect.poll(() => gateway!.stats().refreshRequests, { timeout: convergeMs }).toBeGreaterThan(sent);
      await victim.close();
      pages.splice(pages.indexOf(victim), 1, ...(await app.open(1, { query: CHAOS_QUERY })));
      return ['closed'];
    },
    async reload() {
      const page = pick(pages);
      await page.reload();
      await page.evaluate(() => window.tokenherdDemo.ready);
      return ['reloaded'];
    },
  };

  for (let step = 1; step <= steps; step++) {
    const name = pick(Object.keys(actions) as Array<keyof typeof actions>);
    const outcomes = await actions[name]();
    const record = (await readRecord(pages[0]!, SESSION_KEY)) as { generation: number; state: string };
    const context = `step ${step} (${name}: ${[...new Set(outcomes)].map((o) => `${o} x${outcomes.filter((x) => x === o).length}`).join(', ')}), seed ${seed}`;
    expect(outcomes, context).not.toContain('SESSION_EXPIRED');
    expect(record.state, context).toBe('active');
    expect(oauth.stats().grantsRevoked, context).toBe(0);
    expect(oauth.stats().maxConcurrentRefreshes, context).toBeLessThanOrEqual(1);
    await converge(pages, record.generation, convergeMs);
    console.log(`${context}: generation ${record.generation}`);
  }
  const finals = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.token())));
  expect(new Set(finals.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
  expect(finals[0]!.ok && (await oauth.accessTokenValid(finals[0]!.token))).toBe(true);
});
