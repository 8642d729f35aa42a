/**
 * `npm run bench`: every contestant against the same embedded oidc-provider
 * (rotation + reuse detection), in N windows of one Chromium context, for
 * several access token expiries. See docs/benchmarks.md.
 */
import { readFileSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from '@playwright/test';
import { build, preview, type PreviewServer } from 'vite';
import { startOAuthServer, type OAuthServer } from '../dev/oauth-server.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/support/paths.js';
import { readMachine } from './machine.js';
import { parseOptions, USAGE, type BenchOptions, type ContestantName } from './options.js';
import type { BenchHandle, RequestTiming, TokenResult } from './pages/harness.js';
import type { TokenherdBench } from './pages/tokenherd.js';
import { writeReport } from './report.js';
import { measureEntrySizes } from './size.js';
import { median, type BenchReport, type CycleResult, type Floor, type HotPath, type RunResult } from './results.js';

declare global {
  interface Window {
    bench: BenchHandle & Partial<TokenherdBench>;
  }
}

/** A window that holds no token this long after the expiry instant counts as failed. */
const RESULT_TIMEOUT_MS = 20_000;
/** Pages opened at once: every page is a renderer process, and the machine may have 2 cores. */
const OPEN_CONCURRENCY = 8;
/** Signing in is not timed: every window gets this long to see the session window 0 stored. */
const SIGN_IN_WAIT_MS = 15_000;
const HOT_PATH_MS = 400;
/** Odd, so the median is one round's figure. */
const FLOOR_ROUNDS = 9;
/** A window that has not seen a probe this long after it was sent leaves that round out. */
const FLOOR_WAIT_MS = 2_000;

const CONFIG_FILE = new URL('vite.config.ts', import.meta.url).pathname;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(onTimeout()), ms)))]).finally(() => clearTimeout(timer));
}

async function heapUsed(cdp: CDPSession): Promise<number> {
  await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

interface Harness {
  readonly browser: Browser;
  readonly oauth: OAuthServer;
  readonly origin: string;
  readonly options: BenchOptions;
}

async function openWindows(harness: Harness, context: BrowserContext, contestant: ContestantName, count: number): Promise<Page[]> {
  const query = new URLSearchParams({ contestant, issuer: harness.oauth.issuer, client_id: harness.oauth.clientId });
  return mapLimit(Array.from({ length: count }), OPEN_CONCURRENCY, async () => {
    const page = await context.newPage();
    await page.goto(`${harness.origin}/window.html?${query}`);
    await page.waitForFunction(() => window.bench !== undefined);
    return page;
  });
}

/** Every window asks for a token at the same instant: just after the stored access token expires. */
async function runCycle(harness: Harness, contestant: ContestantName, pages: Page[], previousAt: number): Promise<CycleResult> {
  const { oauth } = harness;
  const [first] = pages as [Page];
  const expiresAt = await first.evaluate(() => window.bench.expiresAt());
  // A contestant that lost its session has no expiry to wait for: its windows ask again right away.
  const at = expiresAt !== undefined && expiresAt > previousAt ? expiresAt + 1 : Date.now() + 300;
  const lockGrants = (): Promise<number> =>
    contestant === 'tokenherd' ? Promise.all(pages.map((page) => page.evaluate(() => window.bench.lockGrants!()))).then((counts) => counts.reduce((a, b) => a + b, 0)) : Promise.resolve(0);
  const grantsBefore = await lockGrants();
  oauth.resetStats();
  const armedAt = await Promise.all(pages.map((page) => page.evaluate((t) => window.bench.arm(t), at)));
  const results = await Promise.all(
    pages.map((page) =>
      withTimeout(
        page.evaluate(() => window.bench.result()!),
        Math.max(0, at - Date.now()) + RESULT_TIMEOUT_MS,
        () => ({ ok: false, error: `no token within ${RESULT_TIMEOUT_MS} ms`, startedAt: at, doneAt: Number.NaN }) as const,
      ),
    ),
  );
  // Checked at the server, not taken from the contestant: was each window's token issued and never revoked?
  const tokens = [...new Set(results.flatMap((r) => (r.ok ? [r.token] : [])))];
  const accepted = new Set((await Promise.all(tokens.map(async (t) => ((await oauth.accessTokenValid(t)) ? [t] : [])))).flat());
  const stats = oauth.stats();
  const working = results.filter((r) => r.ok && accepted.has(r.token));
  const errors: Record<string, number> = {};
  for (const r of results) if (!r.ok) errors[r.error] = (errors[r.error] ?? 0) + 1;
  for (const r of results) if (r.ok && !accepted.has(r.token)) errors['token refused by the server'] = (errors['token refused by the server'] ?? 0) + 1;

  const requestsPerPage = await Promise.all(pages.map((page) => page.evaluate(([since, url]) => window.bench.tokenRequests(since, url), [at - 50, oauth.tokenEndpoint] as const)));
  const firstRequest = requestsPerPage.flat().sort((a, b) => a.start - b.start)[0];
  const lastDone = Math.max(...working.map((r) => r.doneAt));
  const allWorking = working.length === pages.length;
  const lockGrantsInCycle = (await lockGrants()) - grantsBefore;
  const detail = contestant === 'tokenherd' && allWorking ? await tokenherdTimings(pages, results, requestsPerPage, at) : {};
  return {
    at,
    lastArmedBeforeMs: at - Math.max(...armedAt),
    startSkewMs: Math.max(...results.map((r) => r.startedAt)) - at,
    refreshRequests: stats.refreshRequests,
    refreshSucceeded: stats.refreshSucceeded,
    invalidGrant: stats.invalidGrant,
    grantsRevoked: stats.grantsRevoked,
    maxConcurrentRefreshes: stats.maxConcurrentRefreshes,
    windowsWithToken: results.filter((r) => r.ok).length,
    windowsWorking: working.length,
    errors,
    ...(allWorking && { allFreshMs: lastDone - at }),
    ...(firstRequest && { roundTripMs: firstRequest.end - firstRequest.start }),
    ...detail,
    ...(contestant === 'tokenherd' && { lockGrants: lockGrantsInCycle }),
  };
}

type TokenherdTimings = Pick<CycleResult, 'writeToLastWindowMs' | 'writeToLastReadMs' | 'requestStartMs' | 'refresherRoundTripMs' | 'responseToHeldMs' | 'allHeldMs'>;

const tenths = (ms: number): number => Math.round(ms * 10) / 10;

/**
 * tokenherd's own timings of one expiry in which every window got the new token. The refresher is the
 * window that stored the new generation; a window "holds" the token from the first event that put it in
 * its memory (its own write, a store read, or the announcement itself), or at the latest when its
 * `getToken` resolved with it. All readings are `Date.now()` or resource timing in epoch ms.
 */
async function tokenherdTimings(pages: Page[], results: readonly TokenResult[], requestsPerPage: RequestTiming[][], at: number): Promise<TokenherdTimings> {
  const generation = await pages[0]!.evaluate(() => window.bench.generation!());
  const seen = await Promise.all(
    pages.map((page) => page.evaluate((g) => ({ written: window.bench.rotatedAt!(g), read: window.bench.adoptedAt!(g), held: window.bench.heldAt!(g) }), generation)),
  );
  const refresher = seen.findIndex((s) => s.written !== undefined);
  if (refresher < 0) return {};
  const written = seen[refresher]!.written!;
  const lastDone = Math.max(...results.map((r) => r.doneAt));
  const reads = seen.flatMap((s) => (s.read === undefined ? [] : [s.read]));
  const held = seen.map((s, i) => Math.min(s.held ?? Number.POSITIVE_INFINITY, results[i]!.doneAt));
  // Its request that was answered last before it stored (Date.now() has whole milliseconds, resource timing fractions).
  const request = requestsPerPage[refresher]!.filter((r) => r.end <= written + 1).sort((a, b) => a.end - b.end).at(-1);
  return {
    writeToLastWindowMs: lastDone - written,
    ...(reads.length > 0 && { writeToLastReadMs: Math.max(...reads) - written }),
    allHeldMs: Math.max(...held) - at,
    ...(request && {
      requestStartMs: tenths(request.start - at),
      refresherRoundTripMs: tenths(request.end - request.start),
      responseToHeldMs: held.map((h) => tenths(h - request.end)).sort((a, b) => a - b),
    }),
  };
}

/**
 * What any design pays on this machine to tell every window something: window 0 posts on a
 * BroadcastChannel, each other window notes the time and does one IndexedDB read; medians over rounds.
 */
async function measureFloor(pages: Page[]): Promise<Floor> {
  const [first, ...others] = pages as [Page, ...Page[]];
  await Promise.all(others.map((page) => page.evaluate(() => window.bench.listenForProbes())));
  const broadcast: number[] = [];
  const withRead: number[] = [];
  for (let id = 0; id < FLOOR_ROUNDS; id++) {
    const sent = await first.evaluate((i) => window.bench.sendProbe(i), id);
    const seen = await Promise.all(others.map((page) => page.evaluate(([i, ms]) => window.bench.probeResult(i, ms), [id, FLOOR_WAIT_MS] as const)));
    if (seen.some((s) => s === undefined)) continue;
    broadcast.push(Math.max(...seen.map((s) => s!.received)) - sent);
    withRead.push(Math.max(...seen.map((s) => s!.read)) - sent);
  }
  return { broadcastMs: median(broadcast) ?? Number.NaN, broadcastAndReadMs: median(withRead) ?? Number.NaN, rounds: broadcast.length };
}

/** One contestant in `count` windows of a fresh context (clean storage), signed in afresh. */
async function runContestant(harness: Harness, contestant: ContestantName, count: number): Promise<RunResult> {
  const { browser, oauth, options } = harness;
  const context = await browser.newContext();
  try {
    const pages = await openWindows(harness, context, contestant, count);
    const [first] = pages as [Page];
    const cdps = await Promise.all(pages.map((page) => context.newCDPSession(page)));
    await Promise.all(pages.map((page) => page.evaluate(() => window.bench.discover())));
    const heapBefore = await mapLimit(cdps, OPEN_CONCURRENCY, heapUsed);
    await Promise.all(pages.map((page) => page.evaluate(() => window.bench.create())));
    const signIn = await oauth.mintSession();
    await first.evaluate((response) => window.bench.signIn(response), signIn);
    const expiresAt = await first.evaluate(() => window.bench.expiresAt());
    if (expiresAt === undefined) throw new Error('window 0 holds no session after signing in');
    const seen = await Promise.all(pages.map((page) => page.evaluate(([e, ms]) => window.bench.waitForExpiry(e, ms), [expiresAt, SIGN_IN_WAIT_MS] as const)));
    const missing = pages.filter((_, i) => !seen[i]);
    if (missing.length > 0) {
      const held = await Promise.all(missing.map((page) => page.evaluate(() => window.bench.expiresAt())));
      const kinds = held.map((value) => (value === undefined ? 'no session' : `a session expiring ${value - expiresAt} ms off`));
      const detail = [...new Set(kinds)].map((kind) => `${kinds.filter((k) => k === kind).length} hold ${kind}`).join(', ');
      throw new Error(`${missing.length} windows did not see the session stored at sign-in within ${SIGN_IN_WAIT_MS} ms (${detail})`);
    }
    const cycles: CycleResult[] = [];
    for (let cycle = 0; cycle < options.cycles; cycle++) {
      cycles.push(await runCycle(harness, contestant, pages, cycles.at(-1)?.at ?? 0));
    }
    const heapAfter = await mapLimit(cdps, OPEN_CONCURRENCY, heapUsed);
    const added = heapAfter.map((after, i) => (after - heapBefore[i]!) / 1024);
    // After the heap readings, so that neither the hot loop's optimized code nor the probes count as the library's heap.
    let hotPath: HotPath | undefined;
    let floor: Floor | undefined;
    if (contestant === 'tokenherd') {
      hotPath = await first.evaluate((ms) => window.bench.hotPath!(ms), HOT_PATH_MS);
      if (count > 1) floor = await measureFloor(pages);
    }
    return {
      contestant,
      windows: count,
      cycles,
      heapPerWindowKB: { median: median(added) ?? Number.NaN, max: Math.max(...added) },
      ...(hotPath && { hotPath }),
      ...(floor && { floor }),
    };
  } finally {
    await context.close();
  }
}

function packageVersion(name: string): string {
  const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const options = parseOptions(argv);
  const command = `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`;
  const started = Date.now();
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(cleanups.splice(0).reverse().map((close) => close()));
  };
  let timedOut = false;
  const deadline = setTimeout(() => {
    timedOut = true;
    console.error(`bench: stopped after the --timeout of ${options.timeoutSeconds} s, without a report; cleaning up`);
    void cleanup().finally(() => process.exit(2));
  }, options.timeoutSeconds * 1000);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void cleanup().finally(() => process.exit(130)));
  }

  try {
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    cleanups.push(() => browser.close());
    const machine = readMachine(browser.version());
    console.log(`command:  ${command}`);
    console.log(`machine:  ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; Chromium ${machine.chromium}; load ${machine.loadAverage} at start`);
    console.log(`settings: windows ${options.windows.join(', ')}; ${options.cycles} expiries each; access tokens live ${options.ttlSeconds} s\n`);

    const sizes = options.skipSize ? undefined : await measureEntrySizes();
    await build({ configFile: CONFIG_FILE });
    const server: PreviewServer = await preview({ configFile: CONFIG_FILE, preview: { port: 0 } });
    cleanups.push(() => server.close());
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('the bench page server has no local URL');
    // Every contestant's pages load from `localhost`: okta-auth-js honours `expireEarlySeconds` there only.
    const origin = `http://localhost:${new URL(url).port}`;
    const oauth = await startOAuthServer({ corsOrigins: [origin], redirectUris: [`${origin}/`], accessTokenTtlSeconds: options.ttlSeconds });
    cleanups.push(() => oauth.close());

    const harness: Harness = { browser, oauth, origin, options };
    const runs: RunResult[] = [];
    for (const count of options.windows) {
      for (const contestant of options.contestants) {
        if (timedOut) return;
        const run = await runContestant(harness, contestant, count).catch(
          (error: unknown): RunResult => ({
            contestant,
            windows: count,
            cycles: [],
            heapPerWindowKB: { median: Number.NaN, max: Number.NaN },
            failure: error instanceof Error ? error.message : String(error),
          }),
        );
        if (timedOut) return;
        runs.push(run);
        console.log(`  done: ${contestant} in ${count} window${count === 1 ? '' : 's'}${run.failure ? ` (failed: ${run.failure})` : ''}`);
      }
    }
    if (timedOut) return;
    const report: BenchReport = {
      command,
      machine,
      startedAt: new Date(started).toISOString(),
      durationSeconds: Math.round((Date.now() - started) / 1000),
      options: { windows: options.windows, cycles: options.cycles, ttlSeconds: options.ttlSeconds },
      versions: Object.fromEntries(['oidc-provider', 'oauth4webapi', 'idb', 'oidc-client-ts', '@okta/okta-auth-js'].map((name) => [name, packageVersion(name)])),
      runs,
      ...(sizes && { sizes }),
    };
    await writeReport(report, { docs: options.docs });
  } finally {
    clearTimeout(deadline);
    await cleanup();
  }
}

await main();

// The Node section: replicas on PostgreSQL (bench/node.ts; alone: `npm run bench:node`). TOKENHERD_BENCH_NODE=0 skips it.
if (process.env['TOKENHERD_BENCH_NODE'] !== '0') await (await import('./node.js')).benchNode();
