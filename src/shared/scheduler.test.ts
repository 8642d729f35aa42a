import { expect, test } from '@playwright/test';
import { createCoordinatorCore, type CoordinatorCore } from './coordinator.js';
import { ErrorCode } from './errors.js';
import type { Clock } from './ports.js';
import { JITTER_MS, LEAD_MS, WAKE_CHECK_MS, planRefresh, roleName } from './scheduler.js';
import { resolveSettings, type CoordinatorSettings } from './settings.js';
import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryRoles, createMemoryStore } from '../testing/memory.js';
import { createMemoryProvider } from '../testing/memory-provider.js';

const KEY = 'github:alice';
const TTL_MS = 600_000;
const LEEWAY_MS = 60_000;

/** Windows of one partition on in-memory ports; each window's clock can be frozen (its timers held) and all can sleep (time jumps, no timer fires). */
function makeHerd(settings: Partial<CoordinatorSettings> = {}) {
  const real = createManualClock();
  let skew = 0;
  const locks = createMemoryLocks();
  const roles = createMemoryRoles();
  const hub = createMemoryChannelHub();
  const store = createMemoryStore();
  const provider = createMemoryProvider({ clock: { now: () => real.now() + skew, setTimeout: real.setTimeout, clearTimeout: real.clearTimeout }, accessTokenTtlSeconds: TTL_MS / 1000 });
  let reads = 0;
  const windows: Array<CoordinatorCore & { frozen: boolean }> = [];

  function open(): CoordinatorCore & { frozen: boolean } {
    const label = String(windows.length);
    const held: Array<() => void> = [];
    const clock: Clock = {
      now: () => real.now() + skew,
      // A frozen page's timers do not run; they run late, on thaw.
      setTimeout: (callback, ms) => real.setTimeout(() => (tab.frozen ? held.push(callback) : callback()), ms),
      clearTimeout: real.clearTimeout,
    };
    const core = createCoordinatorCore(resolveSettings({ sessionKey: KEY, refreshLeewaySeconds: LEEWAY_MS / 1000, ...settings }), {
      lock: locks,
      channel: hub.open(`tokenherd:${KEY}`),
      store: { read: (key) => (reads++, store.read(key)), compareAndSet: (key, expected, next) => store.compareAndSet(key, expected, next), close: () => {} },
      clock,
      endpoint: provider.endpoint,
      random: () => 0.5,
      role: roles.port(label),
    });
    const tab = Object.assign(core, {
      frozen: false,
      thaw() {
        tab.frozen = false;
        held.splice(0).forEach((callback) => callback());
      },
    });
    windows.push(tab);
    return tab;
  }

  return {
    real,
    provider,
    windows,
    open,
    reads: () => reads,
    holder: () => roles.holder(roleName(KEY)),
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    /** The machine sleeps `ms`: the wall clock moves on, no timer fires until the next advance. */
    sleep: (ms: number) => void (skew += ms),
    now: () => real.now() + skew,
    close: () => windows.forEach((tab) => tab.close()),
  };
}

type Herd = ReturnType<typeof makeHerd>;

async function signedIn(herd: Herd, count: number): Promise<CoordinatorCore[]> {
  const opened = Array.from({ length: count }, () => herd.open());
  await opened[0]!.setSession(herd.provider.signIn());
  await herd.settle();
  return opened;
}

/** Advances in steps of `stepMs`, letting the fakes settle after each. */
async function run(herd: Herd, ms: number, stepMs = 10_000): Promise<void> {
  for (let passed = 0; passed < ms; passed += stepMs) {
    herd.real.advance(Math.min(stepMs, ms - passed));
    await herd.settle();
  }
}

const expiryOf = (tab: CoordinatorCore): number => tab.getState().expiresAt!;

test.describe('auto refresh: planRefresh', () => {
  test('the holder fires lead and jitter before the leeway; watchers after the holder and still before the leeway', () => {
    const received = 0;
    const expiresAt = TTL_MS;
    for (const draw of [0, 0.5, 0.999]) {
      const { fireAt, watchAt } = planRefresh(expiresAt, received, LEEWAY_MS, () => draw);
      expect(fireAt).toBeLessThanOrEqual(expiresAt - LEEWAY_MS - LEAD_MS);
      expect(fireAt).toBeGreaterThanOrEqual(expiresAt - LEEWAY_MS - LEAD_MS - JITTER_MS);
      expect(watchAt).toBeGreaterThan(expiresAt - LEEWAY_MS - LEAD_MS);
      expect(watchAt).toBeLessThan(expiresAt - LEEWAY_MS);
    }
  });

  test('a leeway not shorter than the lifetime moves the plan to the second half of the lifetime, never a refresh at receipt', () => {
    const { fireAt, watchAt } = planRefresh(30_000, 0, 60_000, () => 0.999);
    expect(fireAt).toBeGreaterThanOrEqual(15_000 - 30_000 / 8);
    expect(watchAt).toBeGreaterThan(15_000);
    expect(watchAt).toBeLessThan(30_000);
    expect(planRefresh(100, 0, 0, () => 0).fireAt).toBeGreaterThanOrEqual(50);
  });
});

test.describe('auto refresh: one holder refreshes ahead for all, callers never wait', () => {
  let herd: Herd;
  test.afterEach(() => herd.close());

  test('10 expiries, 4 windows calling every 10 s: one request per expiry, none from a caller, no store read on any call', async () => {
    herd = makeHerd();
    const windows = await signedIn(herd, 4);
    expect(windows.filter((w) => w.getState().holdsRole)).toHaveLength(1);
    // A token is refreshed when lead and jitter (0.5 drawn) are left before the leeway, seen at the next 10 s step.
    const period = TTL_MS - LEEWAY_MS - LEAD_MS - JITTER_MS / 2;
    const started = herd.now();
    while (herd.provider.stats.requests < 10) {
      await run(herd, 10_000);
      const reads = herd.reads();
      const tokens = await Promise.all(windows.map((w) => w.getAccessToken()));
      expect(herd.reads(), 'a call that reads the store waited').toBe(reads);
      for (const token of tokens) expect(herd.provider.accessTokenWorks(token)).toBe(true);
      for (const tab of windows) expect(expiryOf(tab) - herd.now()).toBeGreaterThan(LEEWAY_MS);
    }
    // One request per token: the tenth no sooner than ten periods, and no later than a step after them.
    expect(herd.now() - started).toBeGreaterThanOrEqual(10 * period);
    expect(herd.now() - started).toBeLessThanOrEqual(10 * (period + 10_000));
    expect(herd.provider.stats.revocations).toBe(0);
  });

  test('the holder closes: another window takes the role and the next refresh is still ahead of the leeway', async () => {
    herd = makeHerd();
    const windows = await signedIn(herd, 3);
    const holder = windows[Number(herd.holder())]!;
    holder.close();
    await herd.settle();
    const next = windows.find((w) => w.getState().holdsRole);
    expect(next).toBeDefined();
    expect(next).not.toBe(holder);
    const expiresAt = expiryOf(next!);
    await run(herd, expiresAt - LEEWAY_MS - herd.now() - 1);
    expect(herd.provider.stats.requests).toBe(1);
    expect(expiryOf(next!)).toBeGreaterThan(expiresAt);
  });

  test('a frozen holder keeps the role: the others notice the missed time and one of them refreshes before the leeway', async () => {
    herd = makeHerd();
    await signedIn(herd, 4);
    const holder = herd.windows[Number(herd.holder())]!;
    holder.frozen = true;
    const others = herd.windows.filter((w) => w !== holder);
    const expiresAt = expiryOf(others[0]!);
    await run(herd, expiresAt - LEEWAY_MS - herd.now() - 1);
    expect(herd.holder()).toBe(String(herd.windows.indexOf(holder)));
    expect(herd.provider.stats.requests).toBe(1);
    for (const tab of others) expect(expiryOf(tab)).toBeGreaterThan(expiresAt);
    const reads = herd.reads();
    await Promise.all(others.map((w) => w.getAccessToken()));
    expect(herd.reads()).toBe(reads);
    // Thawed, its late timer finds the refresh done: no second request.
    (holder as unknown as { thaw(): void }).thaw();
    await run(herd, 5_000);
    expect(herd.provider.stats.requests).toBe(1);
  });

  test('the machine sleeps through the expiry: on wake, one request for all windows', async () => {
    herd = makeHerd();
    const windows = await signedIn(herd, 5);
    herd.sleep(2 * TTL_MS);
    await run(herd, WAKE_CHECK_MS);
    expect(herd.provider.stats.requests).toBe(1);
    for (const tab of windows) expect(expiryOf(tab) - herd.now()).toBeGreaterThan(LEEWAY_MS);
  });

  test('a scheduled refresh that fails is tried again later, not in a loop', async () => {
    herd = makeHerd({ retry: { attempts: 1 } });
    const windows = await signedIn(herd, 2);
    herd.provider.script(...Array.from({ length: 50 }, () => ({ kind: 'transient', reason: 'HTTP 503', answered: true }) as const));
    const expiresAt = expiryOf(windows[0]!);
    await run(herd, expiresAt - LEEWAY_MS - LEAD_MS - herd.now(), 100);
    expect(herd.provider.stats.requests).toBe(1);
    await run(herd, 900, 100);
    expect(herd.provider.stats.requests).toBe(1);
    await run(herd, LEAD_MS, 100);
    expect(herd.provider.stats.requests).toBeGreaterThan(1);
    expect(herd.provider.stats.requests).toBeLessThanOrEqual(1 + LEAD_MS / 1_000);
  });

  test('autoRefresh false: no role, nothing sent until a caller needs it', async () => {
    herd = makeHerd({ autoRefresh: false });
    const windows = await signedIn(herd, 3);
    await run(herd, TTL_MS, 10_000);
    expect(herd.provider.stats.requests).toBe(0);
    expect(windows.some((w) => w.getState().holdsRole)).toBe(false);
    await windows[0]!.getAccessToken();
    expect(herd.provider.stats.requests).toBe(1);
  });

  test('closing every window releases the role and leaves no timer', async () => {
    herd = makeHerd();
    await signedIn(herd, 2);
    herd.close();
    await herd.settle();
    expect(herd.holder()).toBeUndefined();
    expect(herd.real.pendingTimers()).toBe(0);
  });
});

test('autoRefresh must be a boolean (INVALID_OPTIONS)', () => {
  expect(() => resolveSettings({ sessionKey: KEY, autoRefresh: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }));
  expect(resolveSettings({ sessionKey: KEY }).autoRefresh).toBe(true);
  expect(resolveSettings({ sessionKey: KEY, autoRefresh: false }).autoRefresh).toBe(false);
});
