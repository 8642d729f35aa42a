/**
 * In-memory implementations of every port, for fast unit tests of the core.
 * They model the browser parts' contracts (FIFO exclusive locks, no self
 * delivery on channels, atomic compare-and-set), not their timing.
 */
import { onAbort, type AbortSignalLike } from '../shared/abort.js';
import type { ChannelPort, Clock, LockPort, RolePort, SessionStore, TimerHandle } from '../shared/ports.js';
import { isStoredSession, isVersion, type StoredSession } from '../shared/session.js';

/** A `LockPort` in memory, whose holders and queue a test can inspect. */
export interface MemoryLocks extends LockPort {
  /** Names held now and requests queued, for leak checks. */
  snapshot(): { held: string[]; pending: number };
}

/**
 * Exclusive named locks in memory, as Web Locks grant them: one holder per name,
 * waiters served first in, first out; an aborted waiter leaves the queue and
 * rejects with the signal's reason, and a holder releases when its callback settles.
 */
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

/** Scheduler roles in memory: one port per window, and who holds each role. */
export interface MemoryRoles {
  /** The role port of the window named `label`. */
  port(label: string): RolePort;
  /** The label of the window that holds role `name`, if any. */
  holder(name: string): string | undefined;
}

/**
 * Roles as Web Locks held by a callback that settles on abort: one holder per name, the
 * others queued first in, first out; an aborted holder frees the role for the next one.
 */
export function createMemoryRoles(): MemoryRoles {
  const locks = createMemoryLocks();
  const holders = new Map<string, string>();
  return {
    port: (label) => ({
      hold(name, signal, onHeld) {
        const held = (): Promise<void> =>
          new Promise((resolve) => {
            holders.set(name, label);
            onHeld(true);
            onAbort(signal, () => {
              holders.delete(name);
              onHeld(false);
              resolve();
            });
          });
        locks.request(name, { signal }, held).catch(() => {}); // aborted while queued: nothing was held
      },
    }),
    holder: (name) => holders.get(name),
  };
}

/** Named broadcast channels in memory, shared by the windows of one test. */
export interface MemoryChannelHub {
  /** A port on channel `name`: like a `BroadcastChannel`, it never receives its own posts. */
  open(name: string): ChannelPort;
  /** Open ports and their listeners, for leak checks. */
  snapshot(): { ports: number; listeners: number };
}

/**
 * Broadcast channels in memory: a post reaches every other open port of the same
 * name asynchronously (as BroadcastChannel delivers), never the sender, and never a
 * port closed before delivery.
 */
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

/** A `SessionStore` in memory that a test can also write around and inspect. */
export interface MemoryStore extends SessionStore {
  /** Writes anything, unchecked, as a party outside the coordinator would (an old app version, a user). */
  put(sessionKey: string, value: unknown): void;
  /** What is stored, whatever it is. */
  raw(sessionKey: string): unknown;
  /** Deletes every record, as a user clearing site data would. */
  clear(): void;
  /** Successful compare-and-sets so far. */
  readonly writes: number;
}

/**
 * One store shared by all windows of a test, like one IndexedDB origin. Compare-and-set
 * is atomic; records are copied in and out, and what is stored but is not a valid
 * record reads as undefined (generation 0), as in the IndexedDB store.
 */
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
    async compareAndSet(sessionKey, expected, next) {
      await Promise.resolve();
      const current = valid(sessionKey);
      if (!isVersion(current, expected)) return { ok: false, current };
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

/** A `Clock` whose time moves only when the test moves it. */
export interface ManualClock extends Clock {
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void;
  /** Moves time to the earliest timer and fires it; returns how far time moved (undefined: no timer). */
  advanceToNext(): number | undefined;
  /** Timers set and not yet fired or cleared. */
  pendingTimers(): number;
}

/**
 * A clock that starts at `start` (ms) and never moves by itself: timers fire only in
 * `advance` and `advanceToNext`, in order of due time (ties in order of setting).
 */
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
