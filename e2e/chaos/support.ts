import type { Page } from '@playwright/test';
import type { Fault } from '../../dev/gateway.js';
import type { App } from '../support/fixtures.js';

/** What `npm run chaos` (e2e/chaos/run.ts) passes in; each has a default for a direct `playwright test --project=chaos`. */
export function chaosSettings(defaults: { windows: number }) {
  const number = (name: string, fallback: number): number => {
    const text = process.env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, got ${text}`);
    return value;
  };
  return {
    seed: number('CHAOS_SEED', Date.now() % 1_000_000),
    windows: number('CHAOS_WINDOWS', defaults.windows),
    steps: number('CHAOS_STEPS', 40),
    expiries: number('CHAOS_EXPIRIES', 1000),
    minutes: number('CHAOS_MINUTES', 25),
  };
}

/** A small seeded generator (an LCG): the same seed replays the same choices. */
export function createRandom(seed: number) {
  let state = seed;
  const random = (): number => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  return { random, pick };
}

/** Faults for one refresh request. The last two let the provider rotate and then lose the answer. */
export const FAULTS: readonly Fault[] = [
  { status: 503 },
  { status: 429, retryAfter: '1' },
  'hang',
  { delayMs: 300 },
  { forward: true, then: 'hang' },
  { forward: true, then: 'reset' },
];

/** Whether the provider processes the request (the refresh token rotates) and the client never gets the answer. */
export const losesResponse = (fault: Fault): boolean => typeof fault === 'object' && 'forward' in fault && (fault.then === 'hang' || fault.then === 'reset');

/** The query of every chaos window: a 30 s reuse grace, so a lost response is recoverable and no session may be lost. */
export const CHAOS_QUERY = { profile: 'grace:30', request_timeout: '1500', retry_base: '50' };

/**
 * Opens `count` windows, a few at a time: each is a renderer process, and 64 started at once on
 * two cores keep each other from loading long enough to time out.
 */
export async function openWindows(app: App, count: number, first = 0): Promise<Page[]> {
  const pages: Page[] = [];
  for (let start = 0; start < count; start += OPEN_BATCH) {
    const size = Math.min(OPEN_BATCH, count - start);
    const batch = await Promise.all(
      Array.from({ length: size }, (_, i) => app.open(1, { query: { ...CHAOS_QUERY, window: String(first + start + i) } }).then(([page]) => page!)),
    );
    pages.push(...batch);
  }
  return pages;
}

const OPEN_BATCH = 8;

/** Waits until every page's coordinator knows `generation`. */
export async function converge(pages: readonly Page[], generation: number, timeout: number): Promise<void> {
  await Promise.all(pages.map((page) => page.waitForFunction((g) => window.tokenherdDemo.coordinator.getState().generation === g, generation, { timeout })));
}
