import { expect, test as base } from '@playwright/test';
import { createCoordinatorCore, type CoordinatorCore } from './coordinator.js';
import { ErrorCode } from './errors.js';
import type { TokenHerdEvent } from './events.js';
import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryStore, type MemoryChannelHub } from '../testing/memory.js';
import { createMemoryProvider, type MemoryProviderOptions } from '../testing/memory-provider.js';
import { MESSAGE_VERSION } from './messages.js';
import type { NetworkPort, SessionStore } from './ports.js';
import { versionOf } from './session.js';
import { resolveSettings, type CoordinatorSettings } from './settings.js';

const TTL = 60;
const KEY = 'github:alice';

/** A token-free announcement, as a sign-out or a database notification sends it. */
const hint = (sessionKey: string, generation: number) => ({ v: MESSAGE_VERSION, type: 'session-changed', sessionKey, generation });

/** Many windows of one storage partition, on in-memory ports and a manual clock. */
function makeWorld(options: Partial<Omit<MemoryProviderOptions, 'clock'>> = {}) {
  const clock = createManualClock();
  const locks = createMemoryLocks();
  const hub = createMemoryChannelHub();
  const store = createMemoryStore();
  const provider = createMemoryProvider({ clock, accessTokenTtlSeconds: TTL, ...options });
  let reads = 0;
  const countingStore: SessionStore = {
    read: (key) => (reads++, store.read(key)),
    compareAndSet: (key, expected, next) => store.compareAndSet(key, expected, next),
    close: () => {},
  };
  const windows: CoordinatorCore[] = [];
  let sessions = 0;

  /** A window, with the events it emits; `channelHub` another partition's channels, `network` its connectivity, `store` a store of its own. */
  function open(
    settings: Partial<CoordinatorSettings> = {},
    { channelHub = hub, network, store: windowStore = countingStore }: { channelHub?: MemoryChannelHub; network?: NetworkPort; store?: SessionStore } = {},
  ) {
    const events: TokenHerdEvent[] = [];
    const core = createCoordinatorCore(resolveSettings({ sessionKey: KEY, refreshLeewaySeconds: 0, ...settings }), {
      lock: locks,
      channel: channelHub.open(`tokenherd:${KEY}`),
      store: windowStore,
      clock,
      endpoint: provider.endpoint,
      random: () => 0.5,
      sessionIds: () => `session-${++sessions}`,
      ...(network && { network }),
    });
    core.subscribe((event) => events.push(event));
    windows.push(core);
    return Object.assign(core, { events });
  }

  /** A window for each settings given, the first of which has signed in. */
  async function signedIn<Each extends Array<Partial<CoordinatorSettings>>>(...each: Each) {
    const opened = each.map((settings) => open(settings)) as { [K in keyof Each]: ReturnType<typeof open> };
    await opened[0]?.setSession(provider.signIn());
    return opened;
  }

  return {
    clock,
    locks,
    hub,
    store,
    provider,
    open,
    signedIn,
    reads: () => reads,
    /** Until every queued delivery and store operation has run: the fakes settle through microtasks only, which all run before the next macrotask. */
    settle: () => new Promise<void>((resolve) => setImmediate(resolve)),
    expire: () => clock.advance(TTL * 1000 + 1),
    /** Holds every refresh request at the provider until the returned function is called. */
    holdRefreshes(): () => void {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      provider.onRequest(() => held);
      return release;
    },
    /** The token expires and `tab` refreshes; its request is held at the provider until `release()`. */
    async refreshHeld(tab: CoordinatorCore) {
      clock.advance(TTL * 1000 + 1);
      const release = this.holdRefreshes();
      const refreshing = tab.getAccessToken();
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(provider.stats.requests).toBe(1);
      return { refreshing, release };
    },
    close: () => windows.forEach((w) => w.close()),
  };
}

/** Each test's worlds, closed after it whatever its outcome: no window outlives its test. */
const test = base.extend<{ createWorld: typeof makeWorld }>({
  createWorld: async ({}, use) => {
    const worlds: Array<ReturnType<typeof makeWorld>> = [];
    await use((options) => {
      const world = makeWorld(options);
      worlds.push(world);
      return world;
    });
    for (const world of worlds) world.close();
  },
});

const changes = (events: TokenHerdEvent[]) => events.flatMap((e) => (e.type === 'session-changed' ? [e.change] : []));

test.describe('one refresher (I1) and cheap when fresh (I4)', () => {
  test('N windows asking at once after expiry cause one request per expiry and share its token', async ({ createWorld }) => {
    const world = createWorld();
    const windows = Array.from({ length: 8 }, () => world.open());
    await windows[0]!.setSession(world.provider.signIn());
    for (let expiry = 1; expiry <= 3; expiry++) {
      world.expire();
      const tokens = await Promise.all(windows.map((w) => w.getAccessToken()));
      expect(world.provider.stats.requests).toBe(expiry);
      expect(new Set(tokens).size).toBe(1);
      expect(world.provider.accessTokenWorks(tokens[0]!)).toBe(true);
    }
    expect(world.provider.stats.revocations).toBe(0);
  });

  test('waiters leave the lock queue when the winner announces, without taking the lock', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    world.expire();
    const tokens = await Promise.all([a.getAccessToken(), b.getAccessToken()]);
    expect(tokens[0]).toBe(tokens[1]);
    expect(a.events.filter((e) => e.type === 'lock-acquired')).toHaveLength(1);
    expect(b.events.filter((e) => e.type === 'lock-acquired')).toHaveLength(0);
    expect(changes(b.events)).toContain('adopted');
  });

  test('a valid token is served from memory: no store read, no lock; concurrent calls share one operation', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.expire();
    const shared = await Promise.all(Array.from({ length: 5 }, () => a.getAccessToken()));
    expect(new Set(shared).size).toBe(1);
    expect(world.provider.stats.requests).toBe(1);
    expect(a.events.filter((e) => e.type === 'lock-acquired')).toHaveLength(1);
    const readsBefore = world.reads();
    for (let i = 0; i < 100; i++) expect(await a.getAccessToken()).toBe(shared[0]);
    expect(world.reads()).toBe(readsBefore);
    expect(world.locks.snapshot()).toEqual({ held: [], pending: 0 });
  });

  test('a leeway longer than the token lifetime costs one request per round of calls, not one per window, and is reported once (hole 1)', async ({ createWorld }) => {
    const world = createWorld({ accessTokenTtlSeconds: 30 });
    const windows = await world.signedIn(...Array.from({ length: 8 }, () => ({ refreshLeewaySeconds: 60 })));
    for (let round = 1; round <= 6; round++) {
      world.clock.advance(1_000);
      const tokens = await Promise.all(windows.map((w) => w.getAccessToken()));
      expect(new Set(tokens).size).toBe(1);
      expect(world.provider.accessTokenWorks(tokens[0]!)).toBe(true);
      expect(world.provider.stats.requests).toBe(round);
    }
    expect(world.provider.stats.revocations).toBe(0);
    // Reported by each window that refreshed, once, whatever the number of its refreshes.
    for (const w of windows) {
      const reports = w.events.filter((e) => e.type === 'leeway-exceeds-lifetime');
      const refreshed = w.events.some((e) => e.type === 'refresh-succeeded');
      expect(reports).toEqual(refreshed ? [{ type: 'leeway-exceeds-lifetime', leewaySeconds: 60, lifetimeSeconds: 30 }] : []);
    }
    expect(windows.some((w) => w.events.filter((e) => e.type === 'refresh-succeeded').length > 1)).toBe(true);
  });

  test('a session without a refresh token: a caller that needs more than is left gets CANNOT_REFRESH, the session stays for others (hole 6)', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = [world.open(), world.open()];
    await a.setSession({ access_token: 'at-only', token_type: 'Bearer', expires_in: 3600 });
    await expect(a.getAccessToken({ minValiditySeconds: 3700 })).rejects.toMatchObject({ code: ErrorCode.CANNOT_REFRESH });
    expect(world.store.raw(KEY)).toMatchObject({ state: 'active', generation: 1 });
    expect(await b.getAccessToken({ minValiditySeconds: 60 })).toBe('at-only');
    expect(await a.getAccessToken()).toBe('at-only');
    expect(world.provider.stats.requests).toBe(0);
  });

  test('a token that expired while its write was in flight is not returned: the caller gets one that serves (finding A)', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.expire();
    let asleep = true;
    const store = world.store;
    const write = store.compareAndSet.bind(store);
    // The machine sleeps a day during the first rotation's write.
    store.compareAndSet = async (key, expected, next) => {
      const result = await write(key, expected, next);
      if (asleep && next.state === 'active' && next.cause === 'rotated') {
        asleep = false;
        world.clock.advance(24 * 3600 * 1000);
      }
      return result;
    };
    const token = await a.getAccessToken();
    expect(world.provider.accessTokenWorks(token)).toBe(true);
    expect(world.provider.stats.requests).toBe(2);
  });

  test('minValiditySeconds refreshes a token that expires too soon for the caller', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    const first = await a.getAccessToken();
    world.clock.advance((TTL - 10) * 1000);
    expect(await a.getAccessToken({ minValiditySeconds: 5 })).toBe(first);
    expect(await a.getAccessToken({ minValiditySeconds: 30 })).not.toBe(first);
    expect(world.provider.stats.requests).toBe(1);
  });
});

test.describe('joined callers', () => {
  test('a caller joins an operation in flight only if its result is enough: a heavier need gets its own', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    const old = await a.getAccessToken();
    world.clock.advance((TTL - 20) * 1000); // 20 s left
    const b = world.open(); // knows nothing yet: both callers need the store
    const [light, heavy] = await Promise.all([b.getAccessToken({ minValiditySeconds: 10 }), b.getAccessToken({ minValiditySeconds: 30 })]);
    expect(light).toBe(old);
    expect(heavy).not.toBe(old);
    expect(world.provider.accessTokenWorks(heavy)).toBe(true);
    expect(b.getState().expiresAt! - world.clock.now()).toBeGreaterThan(30_000);
    expect(world.provider.stats.requests).toBe(1);
  });

  test('a lighter caller joins a heavier operation; one request serves both', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    const old = await a.getAccessToken();
    world.clock.advance((TTL - 20) * 1000);
    const heavy = a.getAccessToken({ minValiditySeconds: 30 });
    const light = a.getAccessToken({ minValiditySeconds: 25 });
    expect(await light).toBe(await heavy);
    expect(await heavy).not.toBe(old);
    expect(world.provider.stats.requests).toBe(1);
    expect(a.events.filter((e) => e.type === 'lock-acquired')).toHaveLength(1);
  });

  test('forceRefresh does not join an ordinary operation, an ordinary caller joins a forced one; one request per expiry either way', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    const old = await a.getAccessToken();
    world.expire();
    const [ordinary, forced] = await Promise.all([a.getAccessToken(), a.getAccessToken({ forceRefresh: true })]);
    expect(forced).not.toBe(old);
    expect(ordinary).toBe(forced);
    world.expire();
    const [forcedFirst, ordinaryAfter] = await Promise.all([a.getAccessToken({ forceRefresh: true }), a.getAccessToken()]);
    expect(forcedFirst).not.toBe(forced);
    expect(ordinaryAfter).toBe(forcedFirst);
    expect(world.provider.stats.requests).toBe(2);
    expect(a.events.filter((e) => e.type === 'lock-acquired')).toHaveLength(2);
    // A valid token in memory serves an ordinary caller at once, while a forced one refreshes.
    const [refreshed, current] = await Promise.all([a.getAccessToken({ forceRefresh: true }), a.getAccessToken()]);
    expect(current).toBe(forcedFirst);
    expect(refreshed).not.toBe(forcedFirst);
    expect(world.provider.stats.requests).toBe(3);
  });

  test('a forced caller and an ordinary caller in another window waiting for the lock leave the queue on one announcement', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    await b.getAccessToken();
    world.expire();
    const results = await Promise.all([a.getAccessToken(), b.getAccessToken({ forceRefresh: true }), b.getAccessToken({ minValiditySeconds: 30 })]);
    expect(new Set(results).size).toBe(1);
    expect(world.provider.stats.requests).toBe(1);
  });
});

test.describe('look before you send (I2) and persist first (I3)', () => {
  test('a window that gets the lock after another rotated re-reads the store and sends nothing', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open();
    const deaf = world.open({}, { channelHub: createMemoryChannelHub() }); // hears no announcements: only the re-read can save it
    await a.setSession(world.provider.signIn());
    await deaf.getAccessToken();
    world.expire();
    const release = world.holdRefreshes();
    const winner = a.getAccessToken();
    await world.settle();
    expect(world.provider.stats.requests).toBe(1);
    const late = deaf.getAccessToken();
    await world.settle();
    release();
    expect(await late).toBe(await winner);
    expect(world.provider.stats.requests).toBe(1);
    expect(deaf.events.filter((e) => e.type === 'lock-acquired')).toHaveLength(1);
  });

  test('the new generation is stored before it is announced, with its access token and never a refresh token', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open();
    const spy = world.hub.open(`tokenherd:${KEY}`);
    const seen: Array<{ message: unknown; stored: { generation: number; sessionId: string; tokens: { accessToken: string; expiresAt: number; refreshToken: string } } }> = [];
    spy.subscribe((message) => seen.push({ message, stored: world.store.raw(KEY) as (typeof seen)[number]['stored'] }));
    const signIn = world.provider.signIn();
    await a.setSession(signIn);
    world.expire();
    await a.getAccessToken();
    await a.signOut();
    await world.settle();
    const [signedIn, rotated, signedOut] = seen;
    for (const [{ message, stored }, cause] of [[signedIn!, 'signed-in'], [rotated!, 'rotated']] as const) {
      expect(message).toEqual({ ...hint(KEY, stored.generation), cause, accessToken: stored.tokens.accessToken, expiresAt: stored.tokens.expiresAt, sessionId: 'session-1' });
    }
    expect([signedIn, rotated].map((s) => s!.stored.generation)).toEqual([1, 2]);
    expect([signedIn, rotated].map((s) => s!.stored.sessionId)).toEqual(['session-1', 'session-1']); // a rotation keeps the sign-in's id
    expect(signedOut!.message).toEqual(hint(KEY, 3)); // a tombstone is a hint: receivers re-read
    const stored = world.store.raw(KEY) as { tokens?: unknown };
    expect(stored.tokens).toBeUndefined();
    const wire = JSON.stringify(seen.map((s) => s.message));
    for (const secret of [signIn['refresh_token'] as string, signedIn!.stored.tokens.refreshToken, rotated!.stored.tokens.refreshToken]) {
      expect(wire).not.toContain(secret);
    }
  });

  test('a receiver uses an announced token at once, and confirms it with one store read off the callers\' path', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    await b.getAccessToken();
    world.expire();
    const readsBefore = world.reads();
    const token = await a.getAccessToken();
    await world.settle();
    expect(b.getState()).toMatchObject({ generation: 2, expiresAt: world.clock.now() + TTL * 1000 });
    // a's look before it sends, and b's confirmation of the announcement: nothing else.
    expect(world.reads() - readsBefore).toBe(2);
    expect(await b.getAccessToken()).toBe(token);
    expect(world.reads() - readsBefore).toBe(2);
    expect(changes(b.events)).toEqual(['signed-in', 'adopted']);
  });

  test('a forged announcement is dropped after one store read (hole 10): the store wins, with no refresh', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    const real = await b.getAccessToken();
    const attacker = world.hub.open(`tokenherd:${KEY}`);
    const readsBefore = world.reads();
    attacker.post({ ...hint(KEY, 1_000_000), cause: 'rotated', accessToken: 'forged', expiresAt: world.clock.now() + TTL * 1000 });
    await world.settle();
    expect(world.reads() - readsBefore).toBe(2); // one confirmation read in each window that heard it
    expect(await b.getAccessToken()).toBe(real);
    expect(b.getState()).toMatchObject({ generation: 1 });
    expect(world.provider.stats.requests).toBe(0);
    // The forged generation blocks no real announcement: the next rotation reaches b.
    world.expire();
    const rotated = await a.getAccessToken();
    await world.settle();
    expect(await b.getAccessToken()).toBe(rotated);
  });

  test('malformed, forged and stale messages change nothing', async ({ createWorld }) => {
    const world = createWorld();
    const [, b] = await world.signedIn({}, {});
    const token = await b.getAccessToken();
    const before = world.store.raw(KEY);
    const attacker = world.hub.open(`tokenherd:${KEY}`);
    const garbage: unknown[] = [
      null,
      'session-changed',
      42,
      [],
      { v: 2, type: 'session-changed', sessionKey: KEY, generation: 9 },
      { v: 1, type: 'session-changed', sessionKey: KEY, generation: 9 },
      { v: 3, type: 'session-changed', sessionKey: KEY, generation: 9 },
      { ...hint(KEY, 9), type: 'signed-out' },
      { ...hint(KEY, 9), cause: 'rotated', accessToken: 'forged', expiresAt: Number.MAX_VALUE },
      { ...hint(KEY, 9), cause: 'rotated', accessToken: 'x'.repeat(20_000) },
      { ...hint(KEY, 9), cause: 'stolen', accessToken: 'forged' },
      { ...hint(KEY, 9), accessToken: 'forged' },
      { ...hint(KEY, 0), cause: 'rotated', accessToken: 'forged' },
      hint(KEY, -1),
      hint(KEY, '9' as unknown as number),
      hint('x'.repeat(100_000), 9),
      { ...hint(KEY, 9), accessToken: 'forged', refreshToken: 'forged' },
      hint(KEY, 1),
      hint(KEY, Number.MAX_SAFE_INTEGER),
      hint('another-account', 7),
    ];
    for (const message of garbage) attacker.post(message);
    await world.settle();
    expect(world.store.raw(KEY)).toEqual(before);
    expect(await b.getAccessToken()).toBe(token);
    expect(b.getState()).toMatchObject({ status: 'signed-in', generation: 1 });
    expect(changes(b.events)).toEqual(['signed-in']);
  });
});

test('fuzzed channel messages (seeded) change nothing and throw nothing', async ({ createWorld }) => {
  const world = createWorld();
  const [, b] = await world.signedIn({}, {});
  const token = await b.getAccessToken();
  const before = world.store.raw(KEY);
  let seed = 0x5eed;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(values: T[]): T => values[Math.floor(random() * values.length)]!;
  const value = (depth: number): unknown =>
    pick([
      () => null,
      () => undefined,
      () => random() * 1e12 - 5e11,
      () => Math.floor(random() * 10),
      () => 'x'.repeat(Math.floor(random() * 2000)),
      () => pick([KEY, 'session-changed', 'signed-out', '__proto__', '']),
      () => (depth > 2 ? [] : Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))),
      () => (depth > 2 ? {} : Object.fromEntries(Array.from({ length: Math.floor(random() * 5) }, () => [pick(['v', 'type', 'sessionKey', 'generation', 'accessToken', 'x']), value(depth + 1)]))),
      () => ({ ...hint(KEY, Math.floor(random() * 100)), ...(random() < 0.5 && { [pick(['accessToken', 'refreshToken', 'v'])]: value(depth + 1) }) }),
    ])();
  const attacker = world.hub.open(`tokenherd:${KEY}`);
  for (let i = 0; i < 500; i++) attacker.post(value(0));
  await world.settle();
  expect(world.store.raw(KEY)).toEqual(before);
  expect(await b.getAccessToken()).toBe(token);
  expect(changes(b.events)).toEqual(['signed-in']);
});

test.describe('adopt, do not destroy (I5)', () => {
  test('a refused window adopts the generation another party stored meanwhile', async ({ createWorld }) => {
    const world = createWorld({ reuse: 'reject' });
    const [a] = await world.signedIn({});
    world.expire();
    const stale = (world.store.raw(KEY) as { tokens: { refreshToken: string } }).tokens.refreshToken;
    world.provider.onRequest(async (refreshToken) => {
      world.provider.onRequest(undefined);
      // An old app version, outside the lock, rotates the same token and stores the result.
      const outside = world.provider.refreshOutside(refreshToken);
      if (outside.kind !== 'tokens') throw new Error('outside refresh failed');
      const response = outside.response as { access_token: string; refresh_token: string };
      world.store.put(KEY, {
        sessionKey: KEY,
        generation: 2,
        state: 'active',
        cause: 'rotated',
        tokens: { accessToken: response.access_token, refreshToken: response.refresh_token, expiresAt: world.clock.now() + TTL * 1000 },
        updatedAt: world.clock.now(),
      });
    });
    const token = await a.getAccessToken();
    expect(world.provider.stats.rejected).toBe(1);
    expect(world.provider.accessTokenWorks(token)).toBe(true);
    expect(changes(a.events)).toEqual(['signed-in', 'adopted']);
    expect(world.store.raw(KEY)).toMatchObject({ generation: 2, state: 'active' });
    expect((world.store.raw(KEY) as { tokens: { refreshToken: string } }).tokens.refreshToken).not.toBe(stale);
  });

  test('a refused token with nothing newer stored ends the session once, for every window', async ({ createWorld }) => {
    const world = createWorld({ reuse: 'reject' });
    const [a, b] = await world.signedIn({}, {});
    await b.getAccessToken();
    world.expire();
    const stored = world.store.raw(KEY) as { tokens: { refreshToken: string } };
    world.provider.refreshOutside(stored.tokens.refreshToken); // consumed elsewhere, result lost
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    expect(world.store.raw(KEY)).toMatchObject({ generation: 2, state: 'signed-out', cause: 'expired' });
    await world.settle();
    expect(changes(b.events)).toEqual(['signed-in', 'expired']);
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    expect(world.provider.stats.requests).toBe(1);
  });

  test('an adopted generation that is refused too ends in TRANSIENT with the stored session kept, not a loop', async ({ createWorld }) => {
    const world = createWorld({ reuse: 'reject' });
    const [a] = await world.signedIn({});
    world.expire();
    let generation = 1;
    world.provider.onRequest(() => {
      generation++;
      world.store.put(KEY, {
        sessionKey: KEY,
        generation,
        state: 'active',
        cause: 'rotated',
        tokens: { accessToken: `outside-${generation}`, refreshToken: `unknown-${generation}`, expiresAt: world.clock.now() - 1 },
        updatedAt: world.clock.now(),
      });
    });
    // SESSION_EXPIRED means the store says so; here it holds the newest outside rotation.
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('kept changing') });
    expect(world.provider.stats.requests).toBe(2);
    expect(world.store.raw(KEY)).toMatchObject({ state: 'active', generation, tokens: { accessToken: `outside-${generation}` } });
  });
});

test.describe('transient is not fatal (I6)', () => {
  test('5xx and 429 are retried with backoff, honour Retry-After, and never clear the session', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open({ retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 5_000 } });
    await a.setSession(world.provider.signIn());
    world.expire();
    world.provider.script(
      { kind: 'transient', reason: 'HTTP 503', answered: true },
      { kind: 'transient', reason: 'HTTP 429', answered: true, retryAfterMs: 2_000 },
    );
    const pending = a.getAccessToken();
    await world.settle();
    expect(world.clock.pendingTimers()).toBe(1);
    expect(world.clock.advanceToNext()).toBe(50); // backoff after the 503: full jitter, 0.5 * 100 ms
    await world.settle();
    expect(world.clock.advanceToNext()).toBe(2_000); // Retry-After
    const token = await pending;
    expect(world.provider.accessTokenWorks(token)).toBe(true);
    expect(a.events.filter((e) => e.type === 'refresh-failed').map((e) => e.type === 'refresh-failed' && e.willRetry)).toEqual([true, true]);
  });

  test('when retries run out the caller gets TRANSIENT, the session is kept, and every window waits out the backoff', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = [world.open({ retry: { attempts: 2 } }), world.open()];
    await a.setSession(world.provider.signIn());
    world.expire();
    const { tokens, generation } = world.store.raw(KEY) as { tokens: unknown; generation: number };
    world.provider.script(
      { kind: 'transient', reason: 'HTTP 502', answered: true },
      { kind: 'transient', reason: 'HTTP 500', answered: true, retryAfterMs: 60_000 },
    );
    const failing = a.getAccessToken();
    await world.settle();
    world.clock.advanceToNext();
    await expect(failing).rejects.toMatchObject({ code: ErrorCode.TRANSIENT });
    expect(world.store.raw(KEY)).toMatchObject({ tokens, generation, backoff: { since: world.clock.now(), ms: 60_000 } });
    expect(a.getState()).toMatchObject({ status: 'signed-in', holdsLock: false });
    // The breaker is shared through the store: no window sends during the provider's Retry-After.
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('asked to wait') });
    expect(world.provider.stats.requests).toBe(2);
    world.clock.advance(60_000);
    expect(world.provider.accessTokenWorks(await b.getAccessToken())).toBe(true);
    expect(world.provider.stats.requests).toBe(3);
  });

  test('a hung request times out, releases the lock and reports TRANSIENT', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open({ retry: { attempts: 1 }, requestTimeoutMs: 5_000 });
    await a.setSession(world.provider.signIn());
    world.expire();
    world.provider.onRequest(() => new Promise(() => {}));
    const hung = a.getAccessToken();
    await world.settle();
    expect(world.clock.advanceToNext()).toBe(5_000);
    await expect(hung).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('5000 ms') });
    expect(world.locks.snapshot()).toEqual({ held: [], pending: 0 });
    world.provider.onRequest(undefined);
    expect(world.provider.accessTokenWorks(await a.getAccessToken())).toBe(true);
  });

  test('other OAuth errors are PROVIDER_ERROR and keep the session', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.expire();
    const before = world.store.raw(KEY);
    world.provider.script({ kind: 'provider-error', error: 'invalid_client', description: 'client authentication failed', status: 401 });
    // The provider's answer as fields, so an app tells invalid_client from invalid_scope without parsing the message.
    await expect(a.getAccessToken()).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_ERROR,
      error: 'invalid_client',
      error_description: 'client authentication failed',
      status: 401,
    });
    expect(world.store.raw(KEY)).toEqual(before);
  });

  test("a refused refresh token's SESSION_EXPIRED carries the provider's answer", async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.expire();
    world.provider.script({ kind: 'rejected', error: 'invalid_grant', description: 'grant request is invalid', status: 400 });
    const refused = await a.getAccessToken().catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: ErrorCode.SESSION_EXPIRED, error: 'invalid_grant', error_description: 'grant request is invalid', status: 400 });
    expect(refused).not.toHaveProperty('error', undefined);
  });

  test('a lock holder that never returns makes waiters fail with LOCK_TIMEOUT, session kept', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open({ lockTimeoutMs: 1_000 });
    await a.setSession(world.provider.signIn());
    world.expire();
    void world.locks.request(`tokenherd:${KEY}`, {}, () => new Promise(() => {}));
    const waiting = a.getAccessToken();
    await world.settle();
    expect(world.clock.advanceToNext()).toBe(1_000);
    await expect(waiting).rejects.toMatchObject({ code: ErrorCode.LOCK_TIMEOUT });
    expect(world.locks.snapshot().pending).toBe(0);
    expect(world.store.raw(KEY)).toMatchObject({ state: 'active', generation: 1 });
    expect(world.provider.stats.requests).toBe(0);
  });
});

test.describe('lost responses and recovery', () => {
  /** The provider processes the next request (rotating the token) and its response is lost: the request hangs until timeout. */
  function loseNextResponse(world: ReturnType<typeof makeWorld>): void {
    world.provider.onRequest((refreshToken) => {
      world.provider.onRequest(undefined);
      world.provider.refreshOutside(refreshToken);
      return new Promise(() => {});
    });
  }

  test('a rotating provider without grace: no blind resend; the next refresh tells the outcome once and ends clearly', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = [world.open({ requestTimeoutMs: 1_000 }), world.open()];
    await a.setSession(world.provider.signIn());
    world.expire();
    loseNextResponse(world);
    const lost = a.getAccessToken();
    await world.settle();
    expect(world.clock.advanceToNext()).toBe(1_000);
    await expect(lost).rejects.toMatchObject({ code: ErrorCode.TRANSIENT });
    expect(world.provider.stats.requests).toBe(1); // not retried: a resend would be a reuse
    expect(world.store.raw(KEY)).toMatchObject({ state: 'active', generation: 1, refreshInFlight: { unknownSends: 1 } });
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED, message: expect.stringContaining('response lost') });
    expect(world.provider.stats.requests).toBe(2);
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    expect(world.provider.stats.requests).toBe(2);
  });

  test('a provider with a reuse grace window: the same token is sent again inside the window and the session survives', async ({ createWorld }) => {
    const world = createWorld({ reuseGraceMs: 30_000 });
    const a = world.open({ requestTimeoutMs: 1_000, profile: { reuseGraceSeconds: 30 } });
    await a.setSession(world.provider.signIn());
    world.expire();
    loseNextResponse(world);
    const recovered = a.getAccessToken();
    await world.settle();
    world.clock.advanceToNext(); // the lost request times out
    await world.settle();
    world.clock.advanceToNext(); // backoff, then the resend inside the grace window
    const token = await recovered;
    expect(world.provider.accessTokenWorks(token)).toBe(true);
    expect(world.provider.stats).toMatchObject({ requests: 2, revocations: 0 });
    expect(world.store.raw(KEY)).toMatchObject({ generation: 2, state: 'active' });
    expect(world.store.raw(KEY)).not.toHaveProperty('refreshInFlight');
  });

  test('a refresher that dies mid-request leaves its marker, and the next one recovers by grace', async ({ createWorld }) => {
    const world = createWorld({ reuseGraceMs: 30_000 });
    const settings = { profile: { reuseGraceSeconds: 30 } };
    const [dying, successor] = [world.open(settings), world.open(settings)];
    await dying.setSession(world.provider.signIn());
    world.expire();
    loseNextResponse(world);
    const doomed = dying.getAccessToken();
    await world.settle();
    dying.close();
    await expect(doomed).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(world.store.raw(KEY)).toMatchObject({ refreshInFlight: { unknownSends: 1 } });
    expect(world.provider.accessTokenWorks(await successor.getAccessToken())).toBe(true);
    expect(world.provider.stats).toMatchObject({ requests: 2, revocations: 0 });
  });

  test('a non-rotating provider: resending after a lost response is always safe', async ({ createWorld }) => {
    const world = createWorld({ reuse: 'allow' });
    const a = world.open({ requestTimeoutMs: 1_000, profile: 'non-rotating' });
    await a.setSession(world.provider.signIn());
    const { refreshToken } = (world.store.raw(KEY) as { tokens: { refreshToken: string } }).tokens;
    world.expire();
    loseNextResponse(world);
    const recovered = a.getAccessToken();
    await world.settle();
    world.clock.advanceToNext();
    await world.settle();
    world.clock.advanceToNext();
    expect(world.provider.accessTokenWorks(await recovered)).toBe(true);
    expect((world.store.raw(KEY) as { tokens: { refreshToken: string } }).tokens.refreshToken).toBe(refreshToken);
  });

  test('offline: one probe, then no request until the platform is online again', async ({ createWorld }) => {
    const world = createWorld();
    let online = false;
    const listeners = new Set<() => void>();
    const network = { isOnline: () => online, onOnline: (listener: () => void) => (listeners.add(listener), () => listeners.delete(listener)) };
    const a = world.open({ retry: { attempts: 1 } }, { network });
    await a.setSession(world.provider.signIn());
    world.expire();
    world.provider.onRequest(() => Promise.reject(new TypeError('Failed to fetch')));
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('network error') });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('Offline') });
    expect(world.provider.stats.requests).toBe(1);
    expect(world.store.raw(KEY)).not.toHaveProperty('refreshInFlight'); // offline, the probe never left the machine
    world.provider.onRequest(undefined);
    online = true;
    listeners.forEach((listener) => listener());
    expect(world.provider.accessTokenWorks(await a.getAccessToken())).toBe(true);
    a.close();
    expect(listeners.size).toBe(0);
  });

  test('a refresh token past its refresh_token_expires_in on the local clock is still sent once: the provider decides (I11)', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = [world.open(), world.open()];
    await a.setSession({ ...world.provider.signIn(), refresh_token_expires_in: 3600 });
    // The local clock runs 40 days fast for a moment; the provider still accepts the token.
    world.clock.advance(40 * 24 * 3600 * 1000);
    expect(world.provider.accessTokenWorks(await a.getAccessToken())).toBe(true);
    expect(world.provider.stats.requests).toBe(1);
    // When the provider does refuse it, the session ends, once, for all windows.
    world.expire();
    world.provider.script({ kind: 'rejected', error: 'invalid_grant', status: 400 });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    expect(world.provider.stats.requests).toBe(2);
  });
});

test.describe('expiry and sessions (I7, I8)', () => {
  test('an expired access token with a live refresh token is refreshed, whatever the clock says about exp', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.clock.advance(365 * 24 * 3600 * 1000);
    expect(world.provider.accessTokenWorks(await a.getAccessToken())).toBe(true);
  });

  test('sign-in and sign-out in one window reach the others', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = [world.open(), world.open()];
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.NOT_SIGNED_IN });
    await a.setSession(world.provider.signIn());
    await world.settle();
    expect(b.getState()).toMatchObject({ status: 'signed-in', generation: 1 });
    expect(await b.getAccessToken()).toBe(await a.getAccessToken());
    await a.signOut();
    await world.settle();
    expect(changes(b.events)).toEqual(['signed-in', 'signed-out']);
    await expect(b.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.NOT_SIGNED_IN });
    expect(world.provider.stats.requests).toBe(0);
  });

  test('storage cleared, then a new sign-in with the same generation: other windows take the new session', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    const old = await b.getAccessToken();
    world.store.clear();
    world.clock.advance(1);
    await a.setSession(world.provider.signIn());
    await world.settle();
    expect(world.store.raw(KEY)).toMatchObject({ generation: 1 });
    const current = await b.getAccessToken();
    expect(current).not.toBe(old);
    expect(current).toBe(await a.getAccessToken());
  });

  test('storage cleared during a refresh, then a new sign-in at the same generation: the old rotation does not land on it (I10, hole 3)', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    const { refreshing, release } = await world.refreshHeld(a);
    world.store.clear();
    await b.setSession(world.provider.signIn());
    const signedIn = world.store.raw(KEY) as { generation: number; sessionId: string; tokens: { accessToken: string } };
    expect(signedIn).toMatchObject({ generation: 1, sessionId: 'session-2' });
    release();
    // The old session's rotation is refused (same generation, another session id); the caller gets the new session's token.
    expect(await refreshing).toBe(signedIn.tokens.accessToken);
    await world.settle();
    expect(world.store.raw(KEY)).toEqual(signedIn);
    expect(await b.getAccessToken()).toBe(signedIn.tokens.accessToken);
  });

  test('a sign-in stored late is dated when its tokens arrived: a caller who asked meanwhile does not take them for tokens issued since', async ({ createWorld }) => {
    // npm run fuzz -- --runs 3000 --seed 2 --transport postgres (finding C): a 3599 s need got a 30 s token.
    const world = createWorld({ accessTokenTtlSeconds: 30 });
    const slow: SessionStore = {
      async read(key) {
        world.clock.advance(10_000); // a store that takes 10 s to answer
        return world.store.read(key);
      },
      compareAndSet: (key, expected, next) => world.store.compareAndSet(key, expected, next),
      close: () => {},
    };
    const a = world.open({}, { store: slow });
    const arrived = world.clock.now();
    await a.setSession(world.provider.signIn());
    expect(world.store.raw(KEY)).toMatchObject({ generation: 1, updatedAt: arrived });
  });

  test('a sign-out during a refresh wins: the late result is discarded, not written back', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    const { refreshing, release } = await world.refreshHeld(a);
    await b.signOut();
    release();
    await expect(refreshing).rejects.toMatchObject({ code: ErrorCode.NOT_SIGNED_IN });
    expect(world.store.raw(KEY)).toMatchObject({ state: 'signed-out', cause: 'signed-out', generation: 2 });
  });
});

test('reload() rejects with the coded error of a failed read; a hint that cannot be read rejects nothing', async ({ createWorld }) => {
  const world = createWorld();
  const [a, b] = await world.signedIn({}, {});
  const read = world.store.read.bind(world.store);
  world.store.read = () => Promise.reject(new Error('disk gone'));
  await expect(a.reload()).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('disk gone') });
  await b.signOut().catch(() => {});
  world.hub.open(`tokenherd:${KEY}`).post({ v: 2, type: 'session-changed', sessionKey: KEY, generation: 9 });
  await world.settle();
  world.store.read = read;
  await expect(a.reload()).resolves.toBeUndefined();
});

test.describe('rotated tokens the store cannot take yet (I12, hole 11)', () => {
  /** The store refuses the rotation's write `failures` times (a database restarting), then takes it. */
  function failingRotations(world: ReturnType<typeof makeWorld>, failures: number) {
    let failed = 0;
    const write = world.store.compareAndSet.bind(world.store);
    world.store.compareAndSet = (key, expected, next) =>
      next.state === 'active' && next.cause === 'rotated' && failed < failures ? (failed++, Promise.reject(new Error('connection refused'))) : write(key, expected, next);
    return () => failed;
  }

  test('a store that fails for a while takes them later: one request, the caller gets them, the other windows too', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    world.expire();
    const failed = failingRotations(world, 3);
    const pending = a.getAccessToken();
    // Each backoff of the write is a timer of the manual clock: run them until the fourth write.
    for (let step = 0; step < 10 && failed() < 3; step++) {
      await world.settle();
      world.clock.advanceToNext();
    }
    await world.settle();
    world.clock.advanceToNext();
    const token = await pending;
    expect(world.provider.accessTokenWorks(token)).toBe(true);
    expect(world.store.raw(KEY)).toMatchObject({ generation: 2, tokens: { accessToken: token } });
    await world.settle();
    expect(await b.getAccessToken()).toBe(token);
    expect(world.provider.stats).toMatchObject({ requests: 1, revocations: 0 });
  });

  test('a store that stays down past requestTimeoutMs: TRANSIENT, no second request, and this window still serves the tokens it holds', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({ requestTimeoutMs: 2_000 });
    world.expire();
    failingRotations(world, Number.POSITIVE_INFINITY);
    const pending = a.getAccessToken();
    const outcome = pending.then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    for (let step = 0; step < 20; step++) {
      await world.settle();
      world.clock.advanceToNext();
    }
    expect(await outcome).toBe(ErrorCode.TRANSIENT);
    expect(world.provider.stats.requests).toBe(1);
    expect(world.store.raw(KEY)).toMatchObject({ generation: 1, refreshInFlight: { unknownSends: 1 } });
    expect(world.provider.accessTokenWorks(await a.getAccessToken())).toBe(true);
    expect(world.provider.stats.requests).toBe(1);
  });
});

test.describe('sign-in and sign-out against other writers', () => {
  for (const call of ['setSession', 'signOut'] as const) {
    test(`${call} gives up with TRANSIENT after a bounded number of lost compare-and-sets`, async ({ createWorld }) => {
      const world = createWorld();
      await world.signedIn({});
      let attempts = 0;
      // Another window signs in anew just before each compare-and-set of this one, so each is lost.
      const contended: SessionStore = {
        read: (key) => world.store.read(key),
        async compareAndSet(key, expected, next) {
          attempts++;
          const current = await world.store.read(key);
          const generation = (current?.generation ?? 0) + 1;
          const tokens = { accessToken: `elsewhere-${generation}` };
          await world.store.compareAndSet(key, versionOf(current), { sessionKey: key, generation, state: 'active', cause: 'signed-in', tokens, updatedAt: 0 });
          return world.store.compareAndSet(key, expected, next);
        },
        close: () => {},
      };
      const ports = { lock: world.locks, channel: world.hub.open(`tokenherd:${KEY}`), clock: world.clock, endpoint: world.provider.endpoint };
      const b = createCoordinatorCore(resolveSettings({ sessionKey: KEY }), { ...ports, store: contended });
      try {
        const attempt = call === 'setSession' ? b.setSession(world.provider.signIn()) : b.signOut();
        await expect(attempt).rejects.toMatchObject({ code: ErrorCode.TRANSIENT, message: expect.stringContaining('changed 3 times') });
        expect(attempts).toBe(3);
      } finally {
        b.close();
      }
    });
  }
});

test.describe('bad input', () => {
  test('a signal that is not an AbortSignal is INVALID_OPTIONS before anything starts', async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.expire();
    for (const signal of [{}, 'abort', { aborted: false }]) {
      await expect(a.getAccessToken({ signal } as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTIONS, message: expect.stringContaining('signal') });
    }
    await world.settle();
    expect(world.provider.stats.requests).toBe(0);
    expect(world.locks.snapshot()).toEqual({ held: [], pending: 0 });
  });

  test('invalid token responses are refused with INVALID_TOKEN_RESPONSE and the store is unchanged', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open();
    for (const bad of [null, {}, { access_token: 'x', token_type: 'mac' }, { access_token: 'x', token_type: 'Bearer', expires_in: -1 }]) {
      await expect(a.setSession(bad)).rejects.toMatchObject({ code: ErrorCode.INVALID_TOKEN_RESPONSE });
    }
    expect(world.store.raw(KEY)).toBeUndefined();
    await a.setSession(world.provider.signIn());
    world.expire();
    const before = world.store.raw(KEY);
    world.provider.script({ kind: 'tokens', response: { access_token: 'x', token_type: 'Bearer', expires_in: '3600' } });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.INVALID_TOKEN_RESPONSE });
    // The session is unchanged; the record notes that the provider may have rotated the token it answered for.
    expect(world.store.raw(KEY)).toEqual({ ...(before as object), refreshInFlight: { since: world.clock.now(), unknownSends: 1 } });
  });

  test('options are validated at creation with INVALID_OPTIONS', ({ createWorld }) => {
    const world = createWorld();
    for (const settings of [{ sessionKey: '' }, { refreshLeewaySeconds: -1 }, { lockTimeoutMs: Number.NaN }, { retry: { attempts: 0 } }]) {
      expect(() => world.open(settings)).toThrow(expect.objectContaining({ code: ErrorCode.INVALID_OPTIONS }));
    }
  });
});

test.describe('errors', () => {
  test('every method that returns a promise rejects, never throws, on bad options', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open();
    for (const options of [{ minValiditySeconds: -1 }, { minValiditySeconds: Number.NaN }, { forceRefresh: 'yes' }, null]) {
      let pending: Promise<string> | undefined;
      expect(() => (pending = a.getAccessToken(options as never))).not.toThrow();
      await expect(pending!).rejects.toMatchObject({ code: ErrorCode.INVALID_OPTIONS });
    }
  });

  test('refresh-failed follows only a request that was sent', async ({ createWorld }) => {
    const world = createWorld();
    const a = world.open();
    // No refresh token: when the access token expires the session ends without a request.
    await a.setSession({ access_token: 'at-only', token_type: 'Bearer', expires_in: 60 });
    world.clock.advance(60_000);
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
    expect(a.events.filter((e) => e.type === 'refresh-failed' || e.type === 'refresh-started')).toEqual([]);
    await a.setSession(world.provider.signIn());
    world.expire();
    world.provider.script({ kind: 'provider-error', error: 'invalid_client' });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.PROVIDER_ERROR });
    expect(a.events.filter((e) => e.type === 'refresh-failed' || e.type === 'refresh-started').map((e) => e.type)).toEqual(['refresh-started', 'refresh-failed']);
  });
});

test.describe('lifecycle', () => {
  test("a caller's signal aborts its own wait only", async ({ createWorld }) => {
    const world = createWorld();
    const [a] = await world.signedIn({});
    world.expire();
    const release = world.holdRefreshes();
    const controller = new AbortController();
    const impatient = a.getAccessToken({ signal: controller.signal });
    const patient = a.getAccessToken();
    controller.abort();
    await expect(impatient).rejects.toMatchObject({ code: ErrorCode.ABORTED });
    await world.settle();
    expect(world.provider.stats.requests).toBe(1);
    release();
    expect(world.provider.accessTokenWorks(await patient)).toBe(true);
  });

  test('close() rejects waiters with CLOSED and leaves no lock request, timer or listener behind', async ({ createWorld }) => {
    const world = createWorld();
    const [a, b] = await world.signedIn({}, {});
    world.expire();
    world.provider.onRequest(() => new Promise(() => {}));
    const holder = a.getAccessToken();
    await world.settle();
    expect(world.provider.stats.requests).toBe(1);
    const waiter = b.getAccessToken();
    await world.settle();
    expect(world.locks.snapshot().pending).toBe(1);
    b.close();
    a.close();
    await expect(waiter).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    await expect(holder).rejects.toMatchObject({ code: ErrorCode.CLOSED });
    expect(world.locks.snapshot()).toEqual({ held: [], pending: 0 });
    expect(world.clock.pendingTimers()).toBe(0);
    expect(world.hub.snapshot()).toEqual({ ports: 0, listeners: 0 });
    await expect(a.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.CLOSED });
  });
});
