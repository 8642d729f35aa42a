/**
 * `npm run bench:dpop`: the cost of a DPoP proof per call on the hot path of coordinator.fetch
 * (key in memory, nonce known), in Chromium. Target: under 1 ms median. See docs/dpop.md.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { build, preview } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../e2e/support/paths.js';
import type { DpopBenchResult } from './pages/dpop.js';

declare global {
  interface Window {
    dpopBench: { run(calls: number): Promise<DpopBenchResult> };
  }
}

const TARGET_MS = 1;
const { values } = parseArgs({ options: { calls: { type: 'string', default: '2000' } } });
const calls = Number(values.calls);
if (!Number.isInteger(calls) || calls < 10 || calls > 1_000_000) throw new Error(`--calls takes a whole number from 10 to 1000000, got ${values.calls}`);

const root = fileURLToPath(new URL('pages/', import.meta.url));
const outDir = fileURLToPath(new URL('out/dpop', import.meta.url));
const config = {
  configFile: false as const,
  root,
  logLevel: 'warn' as const,
  build: { outDir, emptyOutDir: true, target: 'es2022', rollupOptions: { input: `${root}dpop.html` } },
  preview: { host: '127.0.0.1', port: 0 },
};

await build(config);
const server = await preview(config);
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
try {
  const page = await browser.newPage();
  await page.goto(`${server.resolvedUrls?.local[0] ?? ''}dpop.html`);
  await page.waitForFunction(() => 'dpopBench' in window);
  const result = await page.evaluate((n) => window.dpopBench.run(n), calls);
  const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const row = (name: string, sorted: number[]) =>
    `${name.padEnd(22)} median ${at(sorted, 0.5).toFixed(3)} ms   p90 ${at(sorted, 0.9).toFixed(3)} ms   p99 ${at(sorted, 0.99).toFixed(3)} ms`;
  const proof = at(result.dpop, 0.5) - at(result.bearer, 0.5);
  console.log(`Chromium ${browser.version()}, ${calls} calls per path in batches of 20, interleaved; per-call figures are batch means`);
  console.log(row('bearer (clone+header)', result.bearer));
  console.log(row('DPoP (same + proof)', result.dpop));
  console.log(`first DPoP call (key read from IndexedDB): ${result.firstDpopMs.toFixed(3)} ms`);
  console.log(`cost of the proof per call (median difference): ${proof.toFixed(3)} ms; target < ${TARGET_MS} ms: ${at(result.dpop, 0.5) < TARGET_MS ? 'met' : 'MISSED'} (the whole DPoP call's median is ${at(result.dpop, 0.5).toFixed(3)} ms)`);
  console.log(`reproduce: npm run bench:dpop -- --calls ${calls}`);
} finally {
  await browser.close();
  await server.close();
}
