import { createAbortController, onAbort, type AbortSignalLike } from './abort.js';
import { ErrorCode, TokenHerdError, isTokenHerdError } from './errors.js';
import type { SessionChange, TokenHerdEvent, TokenHerdListener } from './events.js';
import { parseMessage, sessionChanged } from './messages.js';
import type { ChannelPort, Clock, CompareAndSetResult, LockPort, NetworkPort, RefreshOutcome, SessionStore, TokenEndpoint } from './ports.js';
import { freshAccessToken, parseTokenResponse, type ActiveSession, type RefreshInFlight, type StoredSession } from './session.js';
import { numberOption, resolveSettings, type CoordinatorSettings } from './settings.js';

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
}

export interface GetAccessTokenOptions {
  /** The token must stay valid this long; a token closer to expiry is refreshed. Default: the refresh leeway. */
  readonly minValiditySeconds?: number;
  /** The current token was refused (a 401): return a newer generation, refreshing if nobody has yet. */
  readonly forceRefresh?: boolean;
  /** Aborts this caller's wait (ABORTED) without cancelling the operation other callers share. */
  readonly signal?: AbortSignalLike;
}

export interface CoordinatorState {
  /** `unknown` until the store has been read once. */
  readonly status: 'unknown' | 'signed-in' | 'signed-out';
  /** Generation of the stored session this window knows; 0 when none. */
  readonly generation: number;
  readonly expiresAt?: number;
  readonly holdsLock: boolean;
  /** Token endpoint requests this window has sent. */
  readonly refreshRequests: number;
}

export interface CoordinatorCore {
  getAccessToken(options?: GetAccessTokenOptions): Promise<string>;
  /** Stores a token response obtained by sign-in (a new generation) and tells the other windows. */
  setSession(tokenResponse: unknown): Promise<void>;
  /** Writes a tombstone, so no in-flight refresh can bring the session back, and tells the other windows. */
  signOut(): Promise<void>;
  subscribe(listener: TokenHerdListener): () => void;
  getState(): CoordinatorState;
  /** Re-reads the store now; for when memory may be stale (wake from sleep, back/forward cache). */
  reload(): Promise<void>;
  /** Aborts lock requests, timers and requests of this window and closes its channel and store. */
  close(): void;
}

interface Requirement {
  readonly minValidityMs: number;
  /** Set by forceRefresh: generations up to this one were refused. */
  readonly refusedGeneration?: number;
}

/** Round 0 refreshes; round 1 exists only after adopting a generation stored by someone else. */
const MAX_ROUNDS = 2;
const SATISFIED = Symbol('satisfied');
/** Thrown inside the lock when the stored generation changed under a refresh: the next round adopts it. */
const SUPERSEDED = Symbol('superseded');

/**
 * The coordinator algorithm, on ports. Per window:
 * valid token in memory -> return it (no lock, no I/O);
 * otherwise read the store -> usable? adopt it;
 * otherwise queue for the lock (leaving the queue if another window's result arrives first) ->
 * re-read -> still needed? send one refresh -> compare-and-set generation G -> G+1 -> announce.
 */
export function createCoordinatorCore(settings: CoordinatorSettings, ports: CoordinatorPorts): CoordinatorCore {
  const config = resolveSettings(settings);
  const { sessionKey } = config;
  const { lock, channel, store, clock, endpoint, network } = ports;
  const random = ports.random ?? Math.random;
  const lockName = `tokenherd:${sessionKey}`;
  const listeners = new Set<TokenHerdListener>();
  const changeWatchers = new Set<() => void>();
  const closer = createAbortController();

  let memory: StoredSession | undefined;
  let loaded = false;
  let holdsLock = false;
  let refreshRequests = 0;
  let pendingObtain: Promise<string> | undefined;
  let pendingForced: Promise<string> | undefined;
  let offlineProbeSent = false;
  let rereading: Promise<void> | undefined;
  let rereadAgain = false;
  // Store results are applied in the order their operations started, so a slow
  // read can never overwrite what a later read or our own write established.
  let sequence = 0;
  let appliedSequence = 0;

  const closedError = (): TokenHerdError => new TokenHerdError(ErrorCode.CLOSED, 'The token coordinator is closed');

  function emit(event: TokenHerdEvent): void {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        void Promise.reject(error); // a faulty listener is reported, and the others still run
      }
    }
  }

  function apply(record: StoredSession | undefined, change: SessionChange, order: number): void {
    if (order <= appliedSequence) return;
    appliedSequence = order;
    const wasLoaded = loaded;
    loaded = true;
    // The write time tells apart equal generations of two sessions (a database cleared, then a new sign-in).
    if (wasLoaded && memory?.generation === record?.generation && memory?.updatedAt === record?.updatedAt) return;
    if (!wasLoaded && record === undefined) return;
    memory = record;
    const expiresAt = record?.state === 'active' ? record.tokens.expiresAt : undefined;
    emit({
      type: 'session-changed',
      change,
      generation: record?.generation ?? 0,
      ...(expiresAt !== undefined && { expiresAt }),
    });
    for (const watcher of [...changeWatchers]) watcher();
  }

  /** How a record stored by someone else looks from here. */
  function changeOf(record: StoredSession | undefined): SessionChange {
    if (record === undefined) return 'signed-out';
    if (record.state === 'signed-out') return record.cause;
    return record.cause === 'signed-in' ? 'signed-in' : 'adopted';
  }

  async function storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      if (closed()) throw closedError();
      return result;
    } catch (error) {
      if (closed()) throw closedError();
      if (isTokenHerdError(error)) throw error;
      throw new TokenHerdError(ErrorCode.TRANSIENT, `Session storage failed: ${describe(error)}`, { cause: error });
    }
  }

  async function readStore(): Promise<StoredSession | undefined> {
    const order = ++sequence;
    const record = await storeCall(() => store.read(sessionKey));
    apply(record, changeOf(record), order);
    return record;
  }

  /** Persist first, then announce: only a durable write reaches the channel. */
  async function write(expected: number, next: StoredSession, change: SessionChange): Promise<CompareAndSetResult> {
    const result = await storeCall(() => store.compareAndSet(sessionKey, expected, next));
    if (result.ok) {
      apply(next, change, ++sequence);
      channel.post(sessionChanged(sessionKey, next.generation));
    } else {
      apply(result.current, changeOf(result.current), ++sequence);
    }
    return result;
  }

  function tombstone(generation: number, cause: 'signed-out' | 'expired'): StoredSession {
    return { sessionKey, generation: generation + 1, state: 'signed-out', cause, updatedAt: clock.now() };
  }

  function unusable(record: StoredSession | undefined): TokenHerdError {
    return record?.state === 'signed-out' && record.cause === 'expired'
      ? new TokenHerdError(ErrorCode.SESSION_EXPIRED, 'The provider rejected the refresh token: sign in again')
      : new TokenHerdError(ErrorCode.NOT_SIGNED_IN, 'No session is stored: sign in first');
  }

  /** The access token of `record` if it meets the requirement. */
  function usable(record: StoredSession | undefined, requirement: Requirement): string | undefined {
    const { refusedGeneration } = requirement;
    if (record === undefined || (refusedGeneration !== undefined && record.generation <= refusedGeneration)) return undefined;
    return freshAccessToken(record, clock.now(), requirement.minValidityMs);
  }

  function offline(): boolean {
    return network !== undefined && !network.isOnline();
  }

  function closed(): boolean {
    return closer.signal.aborted;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        stop();
        resolve();
      }, ms);
      const stop = onAbort(closer.signal, () => {
        clock.clearTimeout(timer);
        reject(closedError());
      });
    });
  }

  /** One token endpoint request, bounded by `requestTimeoutMs` even if the endpoint ignores its signal. */
  async function requestOnce(refreshToken: string): Promise<RefreshOutcome> {
    const request = createAbortController();
    const timer = clock.setTimeout(() => request.abort('timeout'), config.requestTimeoutMs);
    const stopClose = onAbort(closer.signal, (reason) => request.abort(reason));
    let stopAbort = (): void => {};
    try {
      return await Promise.race([
        endpoint.refresh(refreshToken, { signal: request.signal }),
        new Promise<never>((_, reject) => {
          stopAbort = onAbort(request.signal, reject);
        }),
      ]);
    } catch (error) {
      if (closed()) throw closedError();
      const reason = request.signal.aborted ? `no response within ${config.requestTimeoutMs} ms` : `network error: ${describe(error)}`;
      // Offline, the request never left this machine; otherwise it may have been processed.
      return { kind: 'transient', reason, answered: offline() };
    } finally {
      clock.clearTimeout(timer);
      stopClose();
      stopAbort();
    }
  }

  /** Full-jitter exponential backoff; undefined when `Retry-After` asks for more than the cap. */
  function backoff(attempt: number, retryAfterMs: number | undefined): number | undefined {
    const { baseDelayMs, maxDelayMs } = config.retry;
    if (retryAfterMs !== undefined && retryAfterMs > maxDelayMs) return undefined;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    return Math.max(retryAfterMs ?? 0, random() * ceiling);
  }

  function failed(code: ErrorCode, reason: string, willRetry = false): TokenHerdError {
    emit({ type: 'refresh-failed', code, reason, willRetry });
    return new TokenHerdError(code, reason);
  }

  /**
   * Rewrites the stored record of `session`'s generation with new recovery state and
   * no announcement (nothing another window uses changes). Fails if anyone stored
   * another generation meanwhile.
   */
  async function annotate(session: ActiveSession, state: { refreshInFlight?: RefreshInFlight; backoffUntil?: number }): Promise<void> {
    const { refreshInFlight: _marker, backoffUntil: _backoff, ...record } = session;
    const result = await storeCall(() => store.compareAndSet(sessionKey, session.generation, { ...record, ...state }));
    if (!result.ok) {
      apply(result.current, changeOf(result.current), ++sequence);
      throw SUPERSEDED;
    }
  }

  /**
   * Sends the refresh, retrying transient failures that are safe to retry; resolves
   * with tokens or the provider's rejection. Before each send a marker records that
   * the token may be consumed; it stays while the outcome is unknown (timeout, reset,
   * this window dying), so whoever sends next knows a response may have been lost.
   */
  async function sendRefresh(session: ActiveSession, refreshToken: string): Promise<Extract<RefreshOutcome, { kind: 'tokens' | 'rejected' }>> {
    const { profile } = config;
    let unknown = session.refreshInFlight;
    for (let attempt = 1; ; attempt++) {
      if (offline()) {
        if (offlineProbeSent) throw failed(ErrorCode.TRANSIENT, 'Offline: no refresh until the network is back');
        offlineProbeSent = true;
      }
      const sending = { since: unknown?.since ?? clock.now(), unknownSends: (unknown?.unknownSends ?? 0) + 1 };
      await annotate(session, { refreshInFlight: sending });
      emit({ type: 'refresh-started', generation: session.generation, attempt });
      refreshRequests++;
      const outcome = await requestOnce(refreshToken);
      if (outcome.kind === 'tokens' || outcome.kind === 'rejected') return outcome;
      if (outcome.kind === 'transient' && !outcome.answered) unknown = sending;
      else await annotate(session, unknown ? { refreshInFlight: unknown } : {}); // the provider answered: this send consumed nothing
      if (outcome.kind === 'invalid-response') throw failed(ErrorCode.INVALID_TOKEN_RESPONSE, `Invalid token response: ${outcome.reason}`);
      if (outcome.kind === 'provider-error') {
        throw failed(ErrorCode.PROVIDER_ERROR, `The provider refused the refresh: ${outcome.error}${outcome.description ? ` (${outcome.description})` : ''}`);
      }
      // Resending after an unknown outcome is a reuse if the lost response carried a rotation:
      // only a provider that tolerates reuse (within its grace window) makes that safe.
      const safe = outcome.answered || !profile.rotates || clock.now() - (unknown?.since ?? 0) < profile.reuseGraceMs;
      const delay = safe && attempt < config.retry.attempts ? backoff(attempt, outcome.retryAfterMs) : undefined;
      const error = failed(ErrorCode.TRANSIENT, `Refresh failed transiently: ${outcome.reason}`, delay !== undefined);
      if (delay === undefined) {
        // The provider asked everyone to wait: no window sends before then (a breaker shared through the store).
        if (outcome.answered && !offline()) {
          const wait = outcome.retryAfterMs ?? Math.min(config.retry.maxDelayMs, config.retry.baseDelayMs * 2 ** attempt);
          await annotate(session, { ...(unknown && { refreshInFlight: unknown }), backoffUntil: clock.now() + wait });
        }
        throw error;
      }
      await sleep(delay);
    }
  }

  /** Runs under the lock: look before you send, persist before you announce, adopt rather than destroy. */
  async function refreshUnderLock(requirement: Requirement): Promise<string> {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const current = await readStore();
      const token = usable(current, requirement);
      if (token !== undefined) return token;
      if (current?.state !== 'active') throw unusable(current);
      const { refreshToken, refreshExpiresAt } = current.tokens;
      if (refreshToken === undefined || (refreshExpiresAt !== undefined && refreshExpiresAt <= clock.now())) {
        await write(current.generation, tombstone(current.generation, 'expired'), 'expired');
        throw failed(
          ErrorCode.SESSION_EXPIRED,
          refreshToken === undefined ? 'The access token expired and the session has no refresh token: sign in again' : 'The refresh token has expired: sign in again',
        );
      }
      if (current.backoffUntil !== undefined && current.backoffUntil > clock.now()) {
        throw failed(ErrorCode.TRANSIENT, `The provider asked to wait: no refresh for ${current.backoffUntil - clock.now()} ms`);
      }
      const started = clock.now();
      let outcome;
      try {
        outcome = await sendRefresh(current, refreshToken);
      } catch (error) {
        if (error === SUPERSEDED) continue; // a sign-out, sign-in or outside rotation was stored: the next round takes it
        throw error;
      }
      if (outcome.kind === 'tokens') {
        let tokens;
        try {
          tokens = parseTokenResponse(outcome.response, clock.now());
        } catch (error) {
          throw failed(ErrorCode.INVALID_TOKEN_RESPONSE, describe(error));
        }
        const next: StoredSession = {
          sessionKey,
          generation: current.generation + 1,
          state: 'active',
          cause: 'rotated',
          // A provider that does not rotate keeps the refresh token (and its expiry) valid.
          tokens: tokens.refreshToken === undefined ? { ...tokens, refreshToken, ...(refreshExpiresAt !== undefined && { refreshExpiresAt }) } : tokens,
          updatedAt: clock.now(),
        };
        const result = await write(current.generation, next, 'rotated');
        if (result.ok) {
          emit({ type: 'refresh-succeeded', generation: next.generation, durationMs: clock.now() - started });
          return next.tokens.accessToken;
        }
        continue; // a sign-out or sign-in was stored meanwhile: it wins, our tokens are discarded
      }
      // The token was refused. Clear only if the stored generation is still the one that failed;
      // if anyone stored a newer one meanwhile, the compare-and-set fails and the next round adopts it.
      const cleared = await write(current.generation, tombstone(current.generation, 'expired'), 'expired');
      if (cleared.ok || cleared.current?.state !== 'active') {
        throw failed(
          ErrorCode.SESSION_EXPIRED,
          current.refreshInFlight
            ? `The provider rejected the refresh token (${outcome.error}): an earlier refresh of it was sent and its response lost, so the provider rotated it and the new token never arrived. Sign in again`
            : `The provider rejected the refresh token (${outcome.error}): sign in again`,
        );
      }
    }
    throw failed(ErrorCode.SESSION_EXPIRED, 'The provider rejected the refresh token, and then the newer one adopted from storage too');
  }

  /** Queues for the lock; leaves the queue as soon as another window's stored result satisfies us. */
  function underLock(requirement: Requirement): Promise<string> {
    return new Promise((resolve, reject) => {
      const wait = createAbortController();
      const requested = clock.now();
      let granted = false;
      const timer = clock.setTimeout(
        () =>
          wait.abort(new TokenHerdError(ErrorCode.LOCK_TIMEOUT, `The refresh lock was not granted within ${config.lockTimeoutMs} ms; the session is kept`)),
        config.lockTimeoutMs,
      );
      const stopClose = onAbort(closer.signal, () => wait.abort(closedError()));
      const watcher = (): void => {
        if (usable(memory, requirement) !== undefined) wait.abort(SATISFIED);
        else if (memory?.state !== 'active') wait.abort(unusable(memory));
      };
      changeWatchers.add(watcher);
      const stopWaiting = (): void => {
        clock.clearTimeout(timer);
        stopClose();
        changeWatchers.delete(watcher);
      };
      lock
        .request(lockName, { signal: wait.signal }, async () => {
          granted = true;
          stopWaiting();
          holdsLock = true;
          emit({ type: 'lock-acquired', waitedMs: clock.now() - requested });
          try {
            return await refreshUnderLock(requirement);
          } finally {
            holdsLock = false;
            emit({ type: 'lock-released' });
          }
        })
        .then(resolve, (error: unknown) => {
          stopWaiting();
          if (granted || !wait.signal.aborted) reject(closed() ? closedError() : error);
          // Left the queue because another window's result arrived; if it went stale since, queue again.
          else if (wait.signal.reason === SATISFIED) resolve(usable(memory, requirement) ?? underLock(requirement));
          else reject(wait.signal.reason);
        });
    });
  }

  async function obtain(requirement: Requirement): Promise<string> {
    const stored = await readStore();
    const token = usable(stored, requirement);
    if (token !== undefined) return token;
    if (stored?.state !== 'active') throw unusable(stored);
    return underLock(requirement);
  }

  function withCallerSignal<T>(operation: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
    if (signal === undefined) return operation;
    return new Promise((resolve, reject) => {
      const stop = onAbort(signal, (reason) => reject(new TokenHerdError(ErrorCode.ABORTED, 'getAccessToken was aborted', { cause: reason })));
      operation.then(resolve, reject).finally(stop);
    });
  }

  function reread(): Promise<void> {
    if (rereading) {
      rereadAgain = true;
      return rereading;
    }
    rereading = (async () => {
      do {
        rereadAgain = false;
        await readStore();
      } while (rereadAgain && !closed());
    })()
      .catch(() => {}) // the next getAccessToken reads again and reports the failure
      .finally(() => {
        rereading = undefined;
      });
    return rereading;
  }

  const unsubscribeNetwork = network?.onOnline(() => {
    offlineProbeSent = false;
  });
  const unsubscribeChannel = channel.subscribe((data) => {
    const message = parseMessage(data);
    // Even a generation this window knows is re-read: after storage was cleared, a new session restarts at 1.
    if (message === undefined || message.sessionKey !== sessionKey || closed()) return;
    void reread();
  });

  return {
    getAccessToken(options = {}) {
      if (closed()) return Promise.reject(closedError());
      const minValiditySeconds = numberOption('minValiditySeconds', options.minValiditySeconds, config.refreshLeewaySeconds, 0, 86_400);
      const minValidityMs = minValiditySeconds * 1000;
      if (options.forceRefresh !== true) {
        const token = freshAccessToken(memory, clock.now(), minValidityMs);
        if (token !== undefined) return Promise.resolve(token);
        pendingObtain ??= obtain({ minValidityMs }).finally(() => {
          pendingObtain = undefined;
        });
        return withCallerSignal(pendingObtain, options.signal);
      }
      pendingForced ??= (async () => {
        if (!loaded) await readStore();
        return obtain({ minValidityMs, refusedGeneration: memory?.generation ?? 0 });
      })().finally(() => {
        pendingForced = undefined;
      });
      return withCallerSignal(pendingForced, options.signal);
    },

    async setSession(tokenResponse) {
      if (closed()) throw closedError();
      const tokens = parseTokenResponse(tokenResponse, clock.now());
      for (;;) {
        const current = await storeCall(() => store.read(sessionKey));
        const generation = (current?.generation ?? 0) + 1;
        const next: StoredSession = { sessionKey, generation, state: 'active', cause: 'signed-in', tokens, updatedAt: clock.now() };
        if ((await write(current?.generation ?? 0, next, 'signed-in')).ok) return;
      }
    },

    async signOut() {
      if (closed()) throw closedError();
      for (;;) {
        const current = await readStore();
        if (current?.state !== 'active') return;
        if ((await write(current.generation, tombstone(current.generation, 'signed-out'), 'signed-out')).ok) return;
      }
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    getState() {
      const expiresAt = memory?.state === 'active' ? memory.tokens.expiresAt : undefined;
      return {
        status: !loaded ? 'unknown' : memory?.state === 'active' ? 'signed-in' : 'signed-out',
        generation: memory?.generation ?? 0,
        ...(expiresAt !== undefined && { expiresAt }),
        holdsLock,
        refreshRequests,
      };
    },

    reload() {
      return closed() ? Promise.reject(closedError()) : reread();
    },

    close() {
      if (closed()) return;
      closer.abort(closedError());
      unsubscribeChannel();
      unsubscribeNetwork?.();
      changeWatchers.clear();
      listeners.clear();
      channel.close();
      store.close();
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
