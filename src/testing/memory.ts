/**
 * In-memory implementations of every port, for fast unit tests of the core.
 * They model the browser parts' contracts (FIFO exclusive locks, no self
 * delivery on channels, atomic compare-and-set), not their timing.
 */
import { onAbort, type AbortSignalLike } from '../shared/abort.js';
import type { ChannelPort, Clock, LockPort, RefreshOutcome, SessionStore, TimerHandle, TokenEndpoint } from '../shared/ports.js';
import { isStoredSession, type StoredSession } from '../shared/session.js';

export interface MemoryLocks extends LockPort {
  /** Names held now and requests queued, for leak checks. */
  snapshot(): { held: string[]; pending: number };
}

export function createMemoryLocks(): MemoryLocks {
  const held = new Set<string>();
  const queues = new Map<string, Array<() => void>>();

  function release(name: string): void {
    const next = queues.get(name)?.shift();
    if (next) next();
    else held.delete(name);
  }

  return {
    request<T>(name: string, options: { signal?: AbortSignalLike }, callback: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const run = (): void => {
          stop();
          held.add(name);
          callback()
            .then(resolve, reject)
            .finally(() => release(name));
        };
        const stop = onAbort(options.signal, (reason) => {
          const queue = queues.get(name) ?? [];
          const index = queue.indexOf(run);
          if (index >= 0) queue.splice(index, 1);
          reject(reason);
        });
        if (options.signal?.aborted) return;
        if (held.has(name)) {
          const queue = queues.get(name) ?? [];
          queue.push(run);
          queues.set(name, queue);
        } else {
          run();
        }
      });
    },
    snapshot() {
      return { held: [...held], pending: [...queues.values()].reduce((n, q) => n + q.length, 0) };
    },
  };
}

export interface MemoryChannelHub {
  open(name: string): ChannelPort;
  /** Open ports and their listeners, for leak checks. */
  snapshot(): { ports: number; listeners: number };
}

export function createMemoryChannelHub(): MemoryChannelHub {
  const ports = new Map<string, Set<Set<(data: unknown) => void>>>();
  return {
    open(name) {
      const listeners = new Set<(data: unknown) => void>();
      const peers = ports.get(name) ?? new Set();
      ports.set(name, peers);
      peers.add(listeners);
      return {
        post(message) {
          for (const other of peers) {
            if (other === listeners) continue;
            // Asynchronous like BroadcastChannel; a port closed before delivery receives nothing.
            void Promise.resolve().then(() => {
              if (peers.has(other)) for (const listener of [...other]) listener(message);
            });
          }
        },
        subscribe(listener) {
          listeners.add(listener);
          return () => listeners.delete(listener);
        },
        close() {
          peers.delete(listeners);
          listeners.clear();
        },
      };
    },
    snapshot() {
      let open = 0;
      let listening = 0;
      for (const peers of ports.values()) {
        open += peers.size;
        for (const listeners of peers) listening += listeners.size;
      }
      return { ports: open, listeners: listening };
    },
  };
}

export interface MemoryStore extends SessionStore {
  /** Writes anything, unchecked, as a party outside the coordinator would (an old app version, a user). */
  put(sessionKey: string, value: unknown): void;
  /** What is stored, whatever it is. */
  raw(sessionKey: string): unknown;
  clear(): void;
  readonly writes: number;
}

/** One store shared by all windows of a test, like one IndexedDB origin. Records are copied in and out. */
export function createMemoryStore(): MemoryStore {
  const records = new Map<string, unknown>();
  const copy = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));
  const valid = (key: string): StoredSession | undefined => {
    const value = records.get(key);
    return isStoredSession(value) ? copy(value) : undefined;
  };
  let writes = 0;
  return {
    async read(sessionKey) {
      await Promise.resolve();
      return valid(sessionKey);
    },
    async compareAndSet(sessionKey, expectedGeneration, next) {
      await Promise.resolve();
      const current = valid(sessionKey);
      if ((current?.generation ?? 0) !== expectedGeneration) return { ok: false, current };
      records.set(sessionKey, copy(next));
      writes++;
      return { ok: true };
    },
    close() {},
    put(sessionKey, value) {
      records.set(sessionKey, copy(value));
    },
    raw(sessionKey) {
      return copy(records.get(sessionKey));
    },
    clear() {
      records.clear();
    },
    get writes() {
      return writes;
    },
  };
}

export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void;
  /** Moves time to the earliest timer and fires it; returns how far time moved (undefined: no timer). */
  advanceToNext(): number | undefined;
  pendingTimers(): number;
}

export function createManualClock(start = 1_700_000_000_000): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();

  const earliest = (): [number, { at: number; callback: () => void }] | undefined =>
    [...timers.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];

  function fire([id, timer]: [number, { at: number; callback: () => void }]): void {
    timers.delete(id);
    now = Math.max(now, timer.at);
    timer.callback();
  }

  return {
    now: () => now,
    setTimeout(callback, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), callback });
      return id;
    },
    clearTimeout(handle: TimerHandle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const until = now + ms;
      for (let next = earliest(); next && next[1].at <= until; next = earliest()) fire(next);
      now = until;
    },
    advanceToNext() {
      const next = earliest();
      if (!next) return undefined;
      const before = now;
      fire(next);
      return now - before;
    },
    pendingTimers: () => timers.size,
  };
}

export interface MemoryProviderOptions {
  readonly clock: Clock;
  readonly accessTokenTtlSeconds?: number;
  /** What a consumed refresh token gets: `revoke` the whole grant (oidc-provider), `reject` it alone (GitHub), or `allow` (no rotation: Google, Entra). */
  readonly reuse?: 'revoke' | 'reject' | 'allow';
  /** A consumed refresh token still works this long after its first use (Auth0 overlap, Okta grace). */
  readonly reuseGraceMs?: number;
}

export interface MemoryProvider {
  readonly endpoint: TokenEndpoint;
  /** A token response as sign-in would return it. */
  signIn(): Record<string, unknown>;
  /** Refresh outside any coordination, as a party outside the lock would. */
  refreshOutside(refreshToken: string): RefreshOutcome;
  accessTokenWorks(accessToken: string): boolean;
  /** The next requests get these outcomes instead of being served (a response is a raw JSON body). */
  script(...outcomes: RefreshOutcome[]): void;
  /** Awaited before each request is served; lets a test hold requests in flight. */
  onRequest(hook: ((refreshToken: string) => Promise<void> | void) | undefined): void;
  readonly stats: { requests: number; rejected: number; revocations: number; maxInFlight: number };
}

/** A token endpoint with rotating, single-use refresh tokens and reuse detection. */
export function createMemoryProvider(options: MemoryProviderOptions): MemoryProvider {
  const { clock, accessTokenTtlSeconds = 3600, reuse = 'revoke', reuseGraceMs = 0 } = options;
  const refreshTokens = new Map<string, { grant: number; consumedAt?: number }>();
  const accessTokens = new Map<string, { grant: number; expiresAt: number }>();
  const revokedGrants = new Set<number>();
  const scripted: RefreshOutcome[] = [];
  const stats = { requests: 0, rejected: 0, revocations: 0, maxInFlight: 0 };
  let hook: ((refreshToken: string) => Promise<void> | void) | undefined;
  let inFlight = 0;
  let counter = 0;
  let grants = 0;

  function issue(grant: number, withRefreshToken: boolean): Record<string, unknown> {
    const accessToken = `at-${grant}-${++counter}`;
    accessTokens.set(accessToken, { grant, expiresAt: clock.now() + accessTokenTtlSeconds * 1000 });
    const response: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: accessTokenTtlSeconds };
    if (withRefreshToken) {
      const refreshToken = `rt-${grant}-${counter}`;
      refreshTokens.set(refreshToken, { grant });
      response['refresh_token'] = refreshToken;
    }
    return response;
  }

  function serve(refreshToken: string): RefreshOutcome {
    const record = refreshTokens.get(refreshToken);
    if (!record || revokedGrants.has(record.grant)) {
      stats.rejected++;
      return { kind: 'rejected', error: 'invalid_grant' };
    }
    const reused = record.consumedAt !== undefined && clock.now() - record.consumedAt >= reuseGraceMs;
    if (reused && reuse !== 'allow') {
      stats.rejected++;
      if (reuse === 'revoke') {
        revokedGrants.add(record.grant);
        stats.revocations++;
      }
      return { kind: 'rejected', error: 'invalid_grant' };
    }
    record.consumedAt ??= clock.now();
    return { kind: 'tokens', response: issue(record.grant, reuse !== 'allow') };
  }

  return {
    endpoint: {
      async refresh(refreshToken, { signal }) {
        stats.requests++;
        inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
        try {
          await hook?.(refreshToken);
          if (signal.aborted) throw signal.reason;
          return scripted.shift() ?? serve(refreshToken);
        } finally {
          inFlight--;
        }
      },
    },
    signIn: () => issue(++grants, true),
    refreshOutside: serve,
    accessTokenWorks(accessToken) {
      const record = accessTokens.get(accessToken);
      return record !== undefined && !revokedGrants.has(record.grant) && record.expiresAt > clock.now();
    },
    script: (...outcomes) => void scripted.push(...outcomes),
    onRequest(next) {
      hook = next;
    },
    stats,
  };
}
