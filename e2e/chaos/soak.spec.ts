/**
 * `npm run chaos -- --soak`: 16 windows through 1,000 expiries with random faults, closes
 * and reloads, then a report: sessions lost, refresh requests per expiry, and superseded
 * refresh tokens sent (a token the provider had already rotated, presented again).
 *
 * Two kinds of expiry, both "every window needs a newer token at the same instant":
 * - natural: access tokens live 2 s and every window asks 1 ms after the stored one expires;
 * - forced: every window asks at one instant with `forceRefresh`, as after a 401 for the
 *   token it holds (a window that already holds a newer generation just asks), which needs
 *   no waiting for the clock. Most expiries are forced so that 1,000 fit in ~15 minutes.
 * Seeded (the seed is printed), bounded by --minutes. A lost session is counted, signed in
 * again and the soak goes on; the test fails at the end if any invariant broke.
 */
import type { Page } from '@playwright/test';
import type { Fault } from '../../dev/gateway.js';
import { expect, test, SESSION_KEY } from '../support/fixtures.js';
import { readRecord } from '../support/idb.js';
import { FAULTS, chaosSettings, converge, createRandom, losesResponse, openWindows } from './support.js';

const { seed, windows, expiries, minutes } = chaosSettings({ windows: 16 });
/** Share of expiries that wait for the clock; the rest are forced. */
const NATURAL_SHARE = 0.1;
/** Chance that an expiry's first refresh request meets a fault. */
const FAULT_SHARE = 0.3;
const CLOSE_MID_REFRESH_SHARE = 0.04;
const RELOAD_SHARE = 0.04;
const CLOSE_IDLE_SHARE = 0.02;
/** Lead time of a forced expiry's instant, so that every window has it armed before it comes. */
const ARM_MS = 150;

/**
 * Access token lifetime: a natural expiry costs that much wall time, and a window that gets the
 * new token only after it expired (a loaded machine) rightly sends another request.
 */
const TOKEN_TTL_MS = 2_000;

test.use({ emulation: { graceSeconds: 30 }, serverOptions: { accessTokenTtlSeconds: TOKEN_TTL_MS / 1000 } });

type Outcome = ({ readonly ok: true; readonly token: string } | { readonly ok: false; readonly code: string }) & { readonly generation: number };

test(`soak: ${windows} windows, ${expiries} expiries`, async ({ app, gateway, oauth }) => {
  test.setTimeout((minutes + 5) * 60_000);
  const deadline = Date.now() + minutes * 60_000;
  const convergeMs = 10_000 + windows * 500;
  console.log(`soak seed ${seed} (replay: npm run chaos -- --soak --seed ${seed} --windows ${windows} --expiries ${expiries})`);
  const { random, pick } = createRandom(seed);
  const started = Date.now();

  // The provider's view: a refresh token it had already rotated, presented again. Inside the grace
  // window the gateway answers such a reuse itself (`replayed`); later ones reach the provider.
  let supersededAtProvider = 0;
  /** When each refresh request reached the provider. */
  const arrivals: number[] = [];
  oauth.onRefreshRequest(({ consumed }) => {
    arrivals.push(Date.now());
    if (consumed) supersededAtProvider += 1;
  });

  const pages: Page[] = await openWindows(app, windows);
  await app.signIn(pages[0]!);
  const tally = {
    expiries: 0,
    natural: 0,
    forced: 0,
    faults: 0,
    lostResponses: 0,
    closesMidRefresh: 0,
    closesIdle: 0,
    reloads: 0,
    sessionsLost: 0,
    requestsInExpiries: 0,
    /** Expiries without an injected fault that did not take exactly one refresh request. */
    unfaultedNotOne: [] as string[],
    /** Unfaulted expiries whose extra requests came a token lifetime after the one before: a window got the new token only after it had expired. */
    expiredBeforeAdopted: 0,
    failedCalls: {} as Record<string, number>,
    violations: [] as string[],
  };

  // The gateway gives each refresh request the next scripted fault: those left over (an expiry that sent
  // nothing) hit a later request, which then must not count as unfaulted.
  const pendingFaults: Fault[] = [];
  const script = (fault: Fault): void => {
    gateway!.script(fault);
    pendingFaults.push(fault);
  };
  const consumeFaults = (requests: number): Fault[] => pendingFaults.splice(0, requests);
  const superseded = (): number => gateway!.stats().replayed + supersededAtProvider;
  /** Expiries in which superseded tokens were sent, with the faults their requests met. */
  const supersededNotes: string[] = [];

  const record = async (): Promise<{ generation: number; state: string } | undefined> =>
    (await readRecord(pages[0]!, SESSION_KEY)) as { generation: number; state: string } | undefined;

  const replace = async (victim: Page): Promise<void> => {
    pages.splice(pages.indexOf(victim), 1, ...(await openWindows(app, 1, windows + tally.closesIdle + tally.closesMidRefresh)));
  };

  /**
   * Every window asks at the instant `at`; one that already holds a generation newer than `refused`
   * just asks, the others force a refresh (when `refused` is set). Each answers with the generation it
   * then holds, so that convergence needs no further round trip in the common case.
   */
  function everyWindowAt(at: number, refused: number | undefined): Promise<Outcome[]> {
    return Promise.all(
      pages.map((page) =>
        page.evaluate(
          async ([t, g]) => {
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, t - Date.now())));
            const { coordinator } = window.tokenherdDemo;
            // Checked and asked in one task: the generation cannot change in between.
            const force = g !== null && coordinator.getState().generation <= g;
            const result = await window.tokenherdDemo.token(force ? { forceRefresh: true } : {});
            return { ...result, generation: coordinator.getState().generation };
          },
          [at, refused ?? null] as const,
        ),
      ),
    );
  }

  /** 1 ms after the access token that window 0 holds expires. */
  async function naturalExpiry(): Promise<Outcome[]> {
    const expiresAt = await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt);
    return everyWindowAt((expiresAt ?? Date.now()) + 1, undefined);
  }

  /** As if the provider had refused the generation every window holds (a 401 in each). */
  async function forcedExpiry(): Promise<Outcome[]> {
    const refused = await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().generation);
    return everyWindowAt(Date.now() + ARM_MS, refused);
  }

  async function closeMidRefresh(): Promise<void> {
    const sent = gateway!.stats().refreshRequests;
    const supersededBefore = superseded();
    script({ forward: true, then: 'hang' });
    const victim = pick(pages);
    void victim.evaluate(() => window.tokenherdDemo.tokenAt(0, { forceRefresh: true })).catch(() => {});
    await expect.poll(() => gateway!.stats().refreshRequests, { timeout: convergeMs }).toBeGreaterThan(sent);
    await victim.close();
    const met = consumeFaults(gateway!.stats().refreshRequests - sent);
    if (superseded() > supersededBefore) supersededNotes.push(`close mid-refresh after expiry ${tally.expiries}: ${superseded() - supersededBefore} superseded, faults met: ${met.map((f) => JSON.stringify(f)).join(' ')}`);
    tally.closesMidRefresh += 1;
    tally.lostResponses += 1;
    await replace(victim);
  }

  async function signInAgain(why: string): Promise<void> {
    tally.sessionsLost += 1;
    tally.violations.push(`expiry ${tally.expiries}: session lost (${why})`);
    await app.signIn(pages[0]!);
  }

  async function drive(): Promise<void> {
    while (tally.expiries < expiries) {
      if (Date.now() > deadline) {
        tally.violations.push(`stopped at the ${minutes}-minute bound after ${tally.expiries} of ${expiries} expiries`);
        break;
      }
      const roll = random();
      if (roll < CLOSE_MID_REFRESH_SHARE) await closeMidRefresh();
      else if (roll < CLOSE_MID_REFRESH_SHARE + RELOAD_SHARE) {
        const page = pick(pages);
        await page.reload();
        await page.evaluate(() => window.tokenherdDemo.ready);
        tally.reloads += 1;
      } else if (roll < CLOSE_MID_REFRESH_SHARE + RELOAD_SHARE + CLOSE_IDLE_SHARE) {
        const victim = pick(pages);
        await victim.close();
        tally.closesIdle += 1;
        await replace(victim);
      }

      if (random() < FAULT_SHARE) {
        const fault = pick(FAULTS);
        script(fault);
        tally.faults += 1;
        if (losesResponse(fault)) tally.lostResponses += 1;
      }
      const natural = random() < NATURAL_SHARE;
      const before = gateway!.stats().refreshRequests;
      const arrivalsBefore = arrivals.length;
      const supersededBefore = superseded();
      const outcomes = natural ? await naturalExpiry() : await forcedExpiry();
      const requests = gateway!.stats().refreshRequests - before;
      const met = consumeFaults(requests);
      const faulted = met.length > 0;
      if (superseded() > supersededBefore) {
        supersededNotes.push(`expiry ${tally.expiries + 1}: ${superseded() - supersededBefore} superseded, ${requests} requests, faults met: ${met.map((f) => JSON.stringify(f)).join(' ') || 'none'}`);
      }
      tally.expiries += 1;
      tally[natural ? 'natural' : 'forced'] += 1;
      tally.requestsInExpiries += requests;
      if (!faulted && requests !== 1) {
        const gaps = arrivals.slice(arrivalsBefore).flatMap((t, i, all) => (i === 0 ? [] : [t - all[i - 1]!]));
        if (requests > 1 && gaps.length === requests - 1 && gaps.every((gap) => gap >= TOKEN_TTL_MS - 250)) tally.expiredBeforeAdopted += 1;
        else tally.unfaultedNotOne.push(`expiry ${tally.expiries} (${natural ? 'natural' : 'forced'}): ${requests} requests, ${gaps.join(', ') || 'no'} ms apart`);
      }
      for (const outcome of outcomes) if (!outcome.ok) tally.failedCalls[outcome.code] = (tally.failedCalls[outcome.code] ?? 0) + 1;

      let stored = await record();
      const lost = outcomes.find((o) => !o.ok && (o.code === 'SESSION_EXPIRED' || o.code === 'NOT_SIGNED_IN'));
      if (stored?.state !== 'active' || lost) {
        await signInAgain(lost && !lost.ok ? lost.code : `stored state ${stored?.state ?? 'none'}`);
        stored = await record();
      }
      const newest = stored!.generation;
      if (outcomes.some((o) => o.generation !== newest)) {
        try {
          await converge(pages, newest, convergeMs);
        } catch {
          tally.violations.push(`expiry ${tally.expiries}: not every window reached generation ${newest} within ${convergeMs} ms`);
        }
      }
      if (tally.expiries % 50 === 0) {
        console.log(`soak: ${tally.expiries} expiries, ${Math.round((Date.now() - started) / 1000)} s, ${tally.requestsInExpiries} requests, ${tally.sessionsLost} sessions lost`);
      }
    }
  }

  try {
    await drive();
  } catch (error) {
    // Reported with the figures so far rather than without them.
    tally.violations.push(`stopped by an error at expiry ${tally.expiries}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }

  const server = oauth.stats();
  const gatewayStats = gateway!.stats();
  const supersededSent = superseded();
  if (server.grantsRevoked > 0) tally.violations.push(`${server.grantsRevoked} grants revoked by the provider`);
  if (server.maxConcurrentRefreshes > 1) tally.violations.push(`${server.maxConcurrentRefreshes} refreshes in flight at once at the provider`);
  // A superseded token is the grace profile's recovery after a lost response, and may be sent more than once
  // for one loss (a resend answered 5xx is resent); outside the grace window it would reach the provider.
  if (supersededAtProvider > 0) tally.violations.push(`${supersededAtProvider} superseded refresh tokens reached the provider outside the grace window`);
  tally.violations.push(...tally.unfaultedNotOne);

  const seconds = Math.round((Date.now() - started) / 1000);
  const perExpiry = tally.expiries === 0 ? 0 : tally.requestsInExpiries / tally.expiries;
  const failed = Object.entries(tally.failedCalls).map(([code, count]) => `${code} ${count}`).join(', ') || 'none';
  console.log(
    [
      `soak report (seed ${seed})`,
      `  windows ${windows}; expiries ${tally.expiries} of ${expiries} (${tally.natural} natural, ${tally.forced} forced) in ${seconds} s, ${(seconds / Math.max(1, tally.expiries)).toFixed(2)} s per expiry`,
      `  faults injected ${tally.faults}; closes mid-refresh ${tally.closesMidRefresh}; idle closes ${tally.closesIdle}; reloads ${tally.reloads}`,
      `  sessions lost: ${tally.sessionsLost}`,
      `  refresh requests per expiry: ${perExpiry.toFixed(3)} (${tally.requestsInExpiries} requests); expiries without a fault that took other than 1 request: ${tally.unfaultedNotOne.length}, besides ${tally.expiredBeforeAdopted} whose new token expired before every window held it`,
      `  superseded refresh tokens sent: ${supersededSent} (${gatewayStats.replayed} inside the grace window, ${supersededAtProvider} reached the provider); responses lost to faults and closes: ${tally.lostResponses}`,
      `  provider: ${server.refreshRequests} refresh requests, ${server.invalidGrant} invalid_grant, ${server.grantsRevoked} grants revoked, at most ${server.maxConcurrentRefreshes} in flight`,
      `  calls that failed, by code: ${failed}`,
      `  expiries with superseded tokens sent: ${supersededNotes.length === 0 ? 'none' : `\n    ${supersededNotes.slice(0, 30).join('\n    ')}`}`,
      `  violations: ${tally.violations.length === 0 ? 'none' : `\n    ${tally.violations.slice(0, 20).join('\n    ')}`}`,
    ].join('\n'),
  );
  oauth.onRefreshRequest(undefined);
  expect(tally.violations).toEqual([]);
});
