/**
 * "Callers never wait" (issue 15): N demo windows each call getAccessToken every 50 ms through
 * 10 expiries, with autoRefresh on and off, against the real oidc-provider. Per run: calls that
 * waited (not served from memory: the call had not settled by the window's next task), call
 * latency p50 / p99 / max, requests per expiry, samples at which a window held an expired token,
 * and the windows' own timer lateness (how late their 50 ms timer ran), measured in the same run.
 *
 *   npx tsx bench/never-wait.ts [--windows 8,32,64] [--expiries 10] [--ttl 3]
 */
import { chromium, type Page } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, preview } from 'vite';
import { startOAuthServer, type OAuthServer } from '../dev/oauth-server.js';
import type { DemoHandle } from '../dev/demo/demo.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/support/paths.js';
import { readMachine } from './machine.js';

declare global {
  interface Window {
    tokenherdDemo: DemoHandle;
  }
}

const { values } = parseArgs({ options: { windows: { type: 'string', default: '8,32,64' }, expiries: { type: 'string', default: '10' }, ttl: { type: 'string', default: '3' } } });
const windows = values.windows.split(',').map(Number);
const expiries = Number(values.expiries);
const ttlSeconds = Number(values.ttl);
/** The demo page's build (vite's `root` is dev/demo: a relative path would land there). */
const OUT_DIR = fileURLToPath(new URL('./out/never-wait', import.meta.url));

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

interface Row {
  readonly windows: number;
  readonly autoRefresh: boolean;
  readonly calls: number;
  readonly waited: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly requestsPerExpiry: number;
  readonly expiredSamples: number;
  readonly latenessP99: number;
  readonly latenessMax: number;
}

async function run(origin: string, oauth: OAuthServer, browser: Awaited<ReturnType<typeof chromium.launch>>, count: number, auto: boolean): Promise<Row> {
  const context = await browser.newContext();
  try {
    // No demo control room: its status messages (N² twice a second) would be measured too.
    const query = { issuer: oauth.issuer, client_id: oauth.clientId, session: `never-wait-${count}-${auto}`, poll: '0', leeway: '0', auto: auto ? '1' : '0', control: '0' };
    const pages: Page[] = [];
    for (let index = 0; index < count; index++) {
      const page = await context.newPage();
      await page.goto(`${origin}/?${new URLSearchParams({ ...query, window: String(index) })}`);
      await page.evaluate(() => window.tokenherdDemo.ready);
      pages.push(page);
    }
    await pages[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await oauth.mintSession());
    await Promise.all(pages.map((page) => page.waitForFunction(() => window.tokenherdDemo.coordinator.getState().status === 'signed-in')));
    oauth.resetStats();
    // Every window's caller loop starts now; the run lasts `expiries` rotations.
    await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.watchEvery(50))));
    const deadline = Date.now() + (expiries + 2) * ttlSeconds * 1000 * 2;
    while (oauth.stats().refreshSucceeded < expiries && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const watches = await Promise.all(pages.map((page) => page.evaluate(() => window.tokenherdDemo.watch)));
    const stats = oauth.stats();
    const latencies = watches.flatMap((w) => w.latencies).sort((a, b) => a - b);
    const lateness = watches.flatMap((w) => w.tickLateness).sort((a, b) => a - b);
    return {
      windows: count,
      autoRefresh: auto,
      calls: latencies.length,
      waited: watches.reduce((n, w) => n + w.waited, 0),
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
      requestsPerExpiry: stats.refreshRequests / Math.max(1, stats.refreshSucceeded),
      expiredSamples: watches.reduce((n, w) => n + w.expiredSamples, 0),
      latenessP99: percentile(lateness, 99),
      latenessMax: lateness.at(-1) ?? Number.NaN,
    };
  } finally {
    await context.close();
  }
}

const ms = (value: number): string => (value < 10 ? value.toFixed(2) : value.toFixed(0));

const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
const machine = readMachine(browser.version());
await build({ configFile: 'vite.config.ts', build: { outDir: OUT_DIR, emptyOutDir: true }, logLevel: 'warn' });
const server = await preview({ configFile: 'vite.config.ts', build: { outDir: OUT_DIR }, preview: { port: 0 } });
const origin = new URL(server.resolvedUrls!.local[0]!).origin;
const oauth = await startOAuthServer({ corsOrigins: [origin], redirectUris: [`${origin}/`], accessTokenTtlSeconds: ttlSeconds });
try {
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores; Chromium ${machine.chromium}; load ${machine.loadAverage} at start`);
  console.log(`${expiries} expiries of ${ttlSeconds} s tokens, getAccessToken every 50 ms in each window, leeway 0\n`);
  console.log('| windows | autoRefresh | calls | calls that waited | latency p50 / p99 / max (ms) | requests per expiry | expired-token samples | own timer lateness p99 / max (ms) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const count of windows) {
    for (const auto of [true, false]) {
      const row = await run(origin, oauth, browser, count, auto);
      console.log(
        `| ${row.windows} | ${row.autoRefresh} | ${row.calls} | ${row.waited} | ${ms(row.p50)} / ${ms(row.p99)} / ${ms(row.max)} | ${row.requestsPerExpiry.toFixed(2)} | ${row.expiredSamples} | ${ms(row.latenessP99)} / ${ms(row.latenessMax)} |`,
      );
    }
  }
} finally {
  await oauth.close();
  await server.close();
  await browser.close();
}
