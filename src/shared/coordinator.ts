import { isAbortSignal, onAbort, type AbortSignalLike } from './abort.js';
import { decide, type Need } from './decide.js';
import { ErrorCode, TokenHerdError } from './errors.js';
import type { TokenHerdEvent, TokenHerdListener } from './events.js';
import { createListenerSet } from './listeners.js';
import { createLifetime } from './lifetime.js';
import { createLockWait } from './lock-wait.js';
import { parseMessage } from './messages.js';
import { createOfflineProbe } from './offline-probe.js';
import type { ChannelPort, Clock, LockPort, NetworkPort, RolePort, SessionStore, TokenEndpoint } from './ports.js';
import { createRefresher, type Look } from './refresh.js';
import { startScheduler } from './scheduler.js';
import { createSessionView } from './session-view.js';
import { identityOf, isLater, parseTokenResponse, randomSessionId, versionOf, type StoredSession } from './session.js';
import { invalidOption, numberOption, type ResolvedSettings } from './settings.js';

/** What the core runs on: one adapter per port; the browser, Node and test entries each build their own. */
export interface CoordinatorPorts {
  readonly lock: LockPort;
  readonly channel: ChannelPort;
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly endpoint: TokenEndpoint;
  /** Connectivity; without it the network is taken to be always online. */
  readonly network?: NetworkPort;
  /** Source of backoff jitter in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** A new session id per sign-in, unique across the store's windows and processes (the entries: 128 random bits). Default: from `random`. */
  readonly sessionIds?: () => string;
  /** The scheduler role (see scheduler.ts); without it, `autoRefresh` is off. */
  readonly role?: RolePort;
}

/** What one caller of `getAccessToken` needs. */
export interface GetAccessTokenOptions {
  /** The token must stay valid this long; a token closer to expiry is refreshed. Default: the refresh leeway. */
  readonly minValiditySeconds?: number;
  /** The current token was refused (a 401): return another one, refreshing if nobody has yet. */
  readonly forceRefresh?: boolean;
  /** Aborts this caller's wait (ABORTED) without cancelling the operation other callers share. */
  readonly signal?: AbortSignalLike;
}

/** A snapshot of what this window knows and does, for display and tests; it never carries a token. */
export interface CoordinatorState {
  /** `unknown` until the store has been read (or a session announced) once. */
  readonly status: 'unknown' | 'signed-in' | 'signed-out';
  /** Generation of the stored session this window knows; 0 when none. */
  readonly generation: number;
  readonly expiresAt?: number;
  readonly holdsLock: boolean;
  /** Whether this window holds the auto refresh role: it refreshes ahead of expiry for all. */
  readonly holdsRole: boolean;
  /** Token endpoint requests this window has sent. */
  readonly refreshRequests: number;
}

/**
 * The coordinator of one session (one provider account) in one window or process: it keeps
 * the invariants of the design (one refresher per expiry, persist first, adopt before
 * destroy) together with every other coordinator of the same session key and store.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export interface CoordinatorCore {
  /**
   * Resolves to an access token valid for at least `minValiditySeconds` (or the
   * freshest the provider issues, if its tokens live shorter).
   * @throws NOT_SIGNED_IN, SESSION_EXPIRED, TRANSIENT, LOCK_TIMEOUT, PROVIDER_ERROR,
   *   INVALID_TOKEN_RESPONSE, INVALID_OPTIONS, ABORTED, CLOSED (as rejections)
   */
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>;
  /**
   * Stores a token response obtained by sign-in (a new generation) and tells the other windows.
   * @throws INVALID_TOKEN_RESPONSE (nothing stored), TRANSIENT (storage failed), CLOSED
   */
  setSession(tokenResponse: unknown): Promise<void>;
  /**
   * Writes a tombstone, so no in-flight refresh can bring the session back, and tells the other windows.
   * @throws TRANSIENT (storage failed), CLOSED
   */
  signOut(): Promise<void>;
  subscribe(listener: TokenHerdListener): () => void;
  getState(): CoordinatorState;
  /**
   * Re-reads the store now; for when memory may be stale (wake from sleep, back/forward cache).
   * @throws CLOSED; what reading the store throws (TRANSIENT, STORE_CORRUPT, INVALID_OPTIONS), as rejections
   */
  reload(): Promise<void>;
  /** Aborts lock requests, timers and requests of this window and closes its channel and store. */
  close(): void;
}

/** The name of a session key's Web Lock and BroadcastChannel: every window of the herd uses the same. */
export function herdName(sessionKey: string): string {
  return `tokenherd:${sessionKey}`;
}

/** Compare-and-set attempts of `setSession` and `signOut` before TRANSIENT: each lost one means another window wrote meanwhile. */
const MAX_WRITE_ATTEMPTS = 3;

/** An operation of this window that callers with a need it covers can join. */
interface Operation {
  readonly need: Need;
  readonly result: Promise<string>;
}

/** Whether the result of an operation for `covering` also meets `need` (one asked since knows a newer version: its own). */
function covers(covering: Need, need: Need): boolean {
  return (
    need.minValidityMs <= covering.minValidityMs &&
    (need.refusedToken === undefined || need.refusedToken === covering.refusedToken) &&
    (need.asked === undefined || need.asked.generation === 0 || (covering.asked !== undefined && !isLater(need.asked, covering.asked)))
  );
}

/**
 * The coordinator of one session in one window, on ports: the session view
 * (session-view.ts), the lock wait (lock-wait.ts) and the refresh operation
 * (refresh.ts) follow the decisions in decide.ts. Every failure reaches callers
 * as a TokenHerdError with a stable code. `settings` come from `resolveSettings`.
 */
export function createCoordinatorCore(settings: ResolvedSettings, ports: CoordinatorPorts): CoordinatorCore {
  const { sessionKey } = settings;
  const { lock, channel, store, clock, endpoint } = ports;
  const listeners = createListenerSet<TokenHerdEvent>();
  const { emit } = listeners;
  const operations = new Set<Operation>();
  const lifetime = createLifetime(clock);
  const probe = createOfflineProbe(ports.network);

  const look: Look = (at, record, need, progress) =>
    decide({ record, need, at, now: clock.now(), adoptions: progress?.adoptions ?? 0, offline: probe.blocked() });
  const fail = (decision: { code: ErrorCode; reason: string }): TokenHerdError => new TokenHerdError(decision.code, decision.reason);
  const view = createSessionView({ sessionKey, store, channel, lifetime, emit });
  const random = ports.random ?? Math.random;
  const sessionIds = ports.sessionIds ?? (() => randomSessionId(random));
  const refresher = createRefresher({ settings, view, endpoint, clock, lifetime, probe, look, random, emit });
  const lockWait = createLockWait({ lock, name: herdName(sessionKey), timeoutMs: settings.lockTimeoutMs, clock, lifetime, view, look, emit });

  async function obtain(need: Need): Promise<string> {
    // A window that knows an active session learns of others' refreshes from their announcements,
    // so it goes straight to the lock queue (which it leaves on one). Reading the store here as well
    // would put a read per window in front of the refresher's at every expiry.
    if (view.current()?.state !== 'active') await view.read();
    // What the view holds, not the record read: an announcement that arrived during the read is newer.
    const decision = look('store', view.current(), need);
    if (decision.do === 'use') return decision.token;
    if (decision.do === 'fail') throw fail(decision);
    return lockWait.run(need, refresher.refresh);
  }

  /** I4: joins an operation in flight whose result meets `need`, or starts one. */
  function join(need: Need): Promise<string> {
    for (const operation of operations) if (covers(operation.need, need)) return operation.result;
    const operation: Operation = {
      need,
      result: obtain(need).finally(() => {
        operations.delete(operation);
      }),
    };
    // Every caller of it may have left (aborted): its failure then has nobody to reach, and
    // must not surface as an unhandled rejection (which ends a Node process).
    operation.result.catch(() => {});
    operations.add(operation);
    return operation.result;
  }

  /** What `getAccessToken` does for a need: memory if it serves, else the operation that meets it. */
  function ask(need: Need): Promise<string> {
    const decision = look('memory', view.current(), need);
    return decision.do === 'use' ? Promise.resolve(decision.token) : join(need);
  }

  /** A need of `minValidityMs`, asked now by a caller of this window: with the version it holds, so anything stored later is the freshest the provider gives. */
  const needOf = (minValidityMs: number): Need => ({ minValidityMs, asked: { ...versionOf(view.current()), at: clock.now() } });

  function withCallerSignal<T>(operation: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
    if (signal === undefined) return operation;
    return new Promise((resolve, reject) => {
      const stop = onAbort(signal, (reason) => reject(new TokenHerdError(ErrorCode.ABORTED, 'getAccessToken was aborted', { cause: reason })));
      operation.then(resolve, reject).finally(stop);
    });
  }

  function parseOptions(options: GetAccessTokenOptions): { need: Need; force: boolean } {
    if (typeof options !== 'object' || options === null) throw invalidOption('getAccessToken options must be an object');
    const { forceRefresh = false } = options;
    if (typeof forceRefresh !== 'boolean') throw invalidOption(`forceRefresh must be a boolean, got ${JSON.stringify(forceRefresh)}`);
    const { signal } = options;
    if (signal !== undefined && !isAbortSignal(signal)) throw invalidOption('signal must be an AbortSignal');
    const seconds = numberOption('minValiditySeconds', options.minValiditySeconds, settings.refreshLeewaySeconds, 0, 86_400);
    return { need: needOf(seconds * 1000), force: forceRefresh };
  }

  /**
   * Compare-and-sets `next(current)` over what the store holds, at most MAX_WRITE_ATTEMPTS times:
   * a lost write takes up the record that won and tries again from it.
   */
  async function writeOver(
    first: StoredSession | undefined,
    next: (current: StoredSession | undefined) => StoredSession | undefined,
    change: 'signed-in' | 'signed-out',
  ): Promise<void> {
    let current = first;
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const record = next(current);
      if (record === undefined) return;
      const result = await view.write(versionOf(current), record, change);
      if (result.ok) return;
      current = result.current;
    }
    throw new TokenHerdError(ErrorCode.TRANSIENT, `The stored session changed ${MAX_WRITE_ATTEMPTS} times during the ${change === 'signed-in' ? 'sign-in' : 'sign-out'}; try again`);
  }

  // Auto refresh through `ask`, the callers' own entry: the same lock, re-read and decisions.
  const { role } = ports;
  const leewayMs = settings.refreshLeewaySeconds * 1000;
  const obtainFor = (minValidityMs: number): Promise<string> => ask(needOf(minValidityMs));
  const scheduler = settings.autoRefresh && role ? startScheduler({ role, sessionKey, clock, view, signal: lifetime.signal, leewayMs, random, obtain: obtainFor }) : undefined;

  const unsubscribeChannel = channel.subscribe((data) => {
    if (lifetime.closed()) return;
    const message = parseMessage(data, clock.now());
    if (message?.sessionKey === sessionKey) view.receive(message);
  });

  return {
    getAccessToken(options = {}) {
      if (lifetime.closed()) return Promise.reject(lifetime.closedError());
      let parsed;
      try {
        parsed = parseOptions(options);
      } catch (failure) {
        return Promise.reject(failure);
      }
      const { need, force } = parsed;
      if (!force) return withCallerSignal(ask(need), options.signal);
      const forced = (async () => {
        if (!view.loaded()) await view.read();
        // The token this window holds was refused: only another one will do.
        const held = view.current();
        return join(held?.state === 'active' ? { ...need, refusedToken: held.tokens.accessToken } : need);
      })();
      return withCallerSignal(forced, options.signal);
    },

    async setSession(tokenResponse) {
      if (lifetime.closed()) throw lifetime.closedError();
      const receivedAt = clock.now();
      const tokens = parseTokenResponse(tokenResponse, receivedAt);
      const sessionId = sessionIds();
      // `updatedAt` is when the tokens arrived, not when a slow store took them: a caller who asked
      // in between must not take them for tokens issued since it asked (decide's `asked`).
      await writeOver(
        await view.read(),
        (current) => ({ sessionKey, sessionId, generation: (current?.generation ?? 0) + 1, state: 'active', cause: 'signed-in', tokens, updatedAt: receivedAt }),
        'signed-in',
      );
    },

    async signOut() {
      if (lifetime.closed()) throw lifetime.closedError();
      await writeOver(
        await view.read(),
        (current) =>
          current?.state === 'active'
            ? { ...identityOf(current), generation: current.generation + 1, state: 'signed-out', cause: 'signed-out', updatedAt: clock.now() }
            : undefined,
        'signed-out',
      );
    },

    subscribe: listeners.add,

    getState() {
      const held = view.current();
      const expiresAt = held?.state === 'active' ? held.tokens.expiresAt : undefined;
      return {
        status: !view.loaded() ? 'unknown' : held?.state === 'active' ? 'signed-in' : 'signed-out',
        generation: held?.generation ?? 0,
        ...(expiresAt !== undefined && { expiresAt }),
        holdsLock: lockWait.holds(),
        holdsRole: scheduler?.holds() ?? false,
        refreshRequests: refresher.requests(),
      };
    },

    reload() {
      return lifetime.closed() ? Promise.reject(lifetime.closedError()) : view.reread();
    },

    close() {
      if (!lifetime.end()) return;
      unsubscribeChannel();
      probe.close();
      listeners.clear();
      view.close();
    },
  };
}
