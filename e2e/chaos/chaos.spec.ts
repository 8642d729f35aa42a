/**
 * `npm run chaos`: N windows through many expiries with random faults, page closes
 * and reloads, against the gateway and the real server. After every step it checks:
 * no session lost that the provider did not revoke, never more than one refresh in
 * flight at the server, every window converges to the newest stored generation.
 *
 * CHAOS_SEED replays a run; CHAOS_STEPS and CHAOS_WINDOWS size it. The default
 * profile tolerates reuse for 30 s, so lost responses are recoverable and no
 * session may be lost at all.
 */
import type { Page } from '@playwright/test';
import type { Fault } from '../../dev/gateway.js';
import { expect, test, SESSION_KEY } from '../support/fixtures.js';
import { readRecord } from '../support/idb.js';

const seed = Number(process.env['CHAOS_SEED'] ?? Date.now() % 1_000_000);
const steps = Number(process.env['CHAOS_STEPS'] ?? 40);
const windows = Number(process.env['CHAOS_WINDOWS'] ?? 6);
const query = { profile: 'grace:30', request_timeout: '1500', retry_base: '50' };

test.use({ emulation: { graceSeconds: 30 } });

test(`chaos: ${windows} windows, ${steps} steps, seed ${seed}`, async ({ app, gateway, oauth }) => {
  test.setTimeout(steps * 20_000);
  console.log(`chaos seed ${seed} (replay: CHAOS_SEED=${seed} npm run chaos)`);
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const faults: Fault[] = [{ status: 503 }, { status: 429, retryAfter: '1' }, 'hang', { delayMs: 300 }, { forward: true, then: 'hang' }, { forward: true, then: 'reset' }];

  const pages: Page[] = await app.open(windows, { query });
  await app.signIn(pages[0]!);

  const actions = {
    async expiry() {
      if (random() < 0.5) gateway!.script(pick(faults));
      const results = await app.tokensAtExpiry(pages);
      return results.map((r) => (r.ok ? 'ok' : r.code));
    },
    async force() {
      if (random() < 0.3) gateway!.script(pick(faults));
      const result = await pick(pages).evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true }));
      return [result.ok ? 'ok' : result.code];
    },
    async closeMidRefresh() {
      const sent = gateway!.stats().refreshRequests;
      gateway!.script({ forward: true, then: 'hang' });
      const victim = pick(pages);
      void victim.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true })).catch(() => {});
      await expect.poll(() => gateway!.stats().refreshRequests).toBeGreaterThan(sent);
      await victim.close();
      pages.splice(pages.indexOf(victim), 1, ...(await app.open(1, { query })));
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
    const record = (await pages[0]!.evaluate(readRecord, SESSION_KEY)) as { generation: number; state: string };
    const context = `step ${step} (${name}: ${outcomes.join(' ')}), seed ${seed}`;
    expect(outcomes, context).not.toContain('SESSION_EXPIRED');
    expect(record.state, context).toBe('active');
    expect(oauth.stats().grantsRevoked, context).toBe(0);
    expect(oauth.stats().maxConcurrentRefreshes, context).toBeLessThanOrEqual(1);
    await Promise.all(
      pages.map((page) => page.waitForFunction((g) => window.tokenherdDemo.coordinator.getState().generation === g, record.generation)),
    );
    console.log(`${context}: generation ${record.generation}`);
  }
  const finals = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.token())));
  expect(new Set(finals.map((r) => (r.ok ? r.token : r.code))).size).toBe(1);
  expect(finals[0]!.ok && (await oauth.accessTokenValid(finals[0]!.token))).toBe(true);
});
