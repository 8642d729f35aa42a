import { createAbortController, onAbort, type AbortSignalLike } from './abort.js';
import { MAX_ADOPTIONS, decide, judge, markerFor, type Need, type Recovery, type Situation, type Vantage } from './decide.js';
import { ErrorCode, TokenHerdError, isTokenHerdError } from './errors.js';
import type { SessionChange, TokenHerdEvent, TokenHerdListener } from './events.js';
import { announcementOf, parseMessage, type SessionChangedMessage } from './messages.js';
import type { ChannelPort, Clock, CompareAndSetResult, LockPort, NetworkPort, RefreshOutcome, SessionStore, TokenEndpoint } from './ports.js';
import { parseTokenResponse, type ActiveSession, type StoredSession } from './session.js';
import { invalidOption, numberOption, resolveSettings, type CoordinatorSettings } from './settings.js';

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
  /** The current token was refused (a 401): return another one, refreshing if nobody has yet. */
  readonly forceRefresh?: boolean;
  /** Aborts this caller's wait (ABORTED) without cancelling the operation other callers share. */
  readonly signal?: AbortSignalLike;
}

export interface CoordinatorState {
  /** `unknown` until the store has been read (or a session announced) once. */
  readonly status: 'unknown' | 'signed-in' | 'signed-out';
  /** Generation of the stored session this window knows; 0 when none. */
  readonly generation: number;
  readonly expiresAt?: number;
  readonly holdsLock: boolean;
  /** Token endpoint requests this window has sent. */
  readonly refreshRequests: number;
}

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
   * @throws CLOSED
   */
  reload(): Promise<void>;
  /** Aborts lock requests, timers and requests of this window and closes its channel and store. */
  close(): void;
}

/** The name of a session key's Web Lock and BroadcastChannel: every window of the herd uses the same. */
export function herdName(sessionKey: string): string {
  return `tokenherd:${sessionKey}`;
}

/** An operation of this window that callers with a need it covers can join. */
interface Operation {
  readonly need: Need;
  readonly result: Promise<string>;
}

/** Whether the result of an operation for `covering` also meets `need`. */
function covers(covering: Need, need: Need): boolean {
  return need.minValidityMs <= covering.minValidityMs && (need.refusedToken === undefined || need.refusedToken === covering.refusedToken);
}

/** Two records are the same session state (equal generations can be two sessions: storage cleared, then a new sign-in). */
function same(a: StoredSession | undefined, b: StoredSession | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.generation !== b.generation || a.state !== b.state) return false;
  return a.state !== 'active' || (b.state === 'active' && a.tokens.accessToken === b.tokens.accessToken);
}

/** How a record stored by someone else looks from here. */
function changeOf(record: StoredSession | undefined): SessionChange {
  if (record === undefined) return 'signed-out';
  if (record.state === 'signed-out') return record.cause;
  return record.cause === 'signed-in' ? 'signed-in' : 'adopted';
}

/**
 * The driver of the decisions in decide.ts, on ports. It performs the I/O a
 * decision names and asks again; every failure reaches callers as a
 * TokenHerdError with a stable code.
 */
export function createCoordinatorCore(settings: CoordinatorSettings, ports: CoordinatorPorts): CoordinatorCore {
  const config = resolveSettings(settings);
  const { sessionKey } = config;
  const { lock, channel, store, clock, endpoint, network } = ports;
  const random = ports.random ?? Math.random;
  const lockName = herdName(sessionKey);
  const listeners = new Set<TokenHerdListener>();
  const changeWatchers = new Set<() => void>();
  const operations = new Set<Operation>();
  const closer = createAbortController();

  let memory: StoredSession | undefined;
  let loaded = false;
  let holdsLock = false;
  let refreshRequests = 0;
  let offlineProbeSent = false;
  let rereading: Promise<void> | undefined;
  let rereadAgain = false;
  // Results are applied in the order their operations started, so a slow read can
  // never overwrite what a later read, an announcement or our own write established.
  let sequence = 0;
  let appliedSequence = 0;

  const error = (code: ErrorCode, reason: string, cause?: unknown): TokenHerdError =>
    new TokenHerdError(code, reason, cause === undefined ? undefined : { cause });
  const closedError = (): TokenHerdError => error(ErrorCode.CLOSED, 'The token coordinator is closed');
  const closed = (): boolean => closer.signal.aborted;
  const offline = (): boolean => network !== undefined && !network.isOnline();

  function emit(event: TokenHerdEvent): void {
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (failure) {
        void Promise.reject(failure); // a faulty listener is reported, and the others still run
      }
    }
  }

  function apply(record: StoredSession | undefined, change: SessionChange, order: number): void {
    if (order <= appliedSequence) return;
    appliedSequence = order;
    const changed = loaded ? !same(memory, record) : record !== undefined;
    loaded = true;
    memory = record;
    if (!changed) return;
    const expiresAt = record?.state === 'active' ? record.tokens.expiresAt : undefined;
    emit({ type: 'session-changed', change, generation: record?.generation ?? 0, ...(expiresAt !== undefined && { expiresAt }) });
    for (const watcher of [...changeWatchers]) watcher();
  }

  function situation<At extends Vantage>(at: At, record: StoredSession | undefined, need: Need, adoptions = 0, refused = false): Situation<At> {
    return { record, need, at, now: clock.now(), adoptions, refused, offline: offlineProbeSent && offline() };
  }

  async function storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      if (closed()) throw closedError();
      return result;
    } catch (failure) {
      if (closed()) throw closedError();
      if (isTokenHerdError(failure)) throw failure;
      throw error(ErrorCode.TRANSIENT, `Session storage failed: ${describe(failure)}`, failure);
    }
  }

  async function readStore(): Promise<StoredSession | undefined> {
    const order = ++sequence;
    const record = await storeCall(() => store.read(sessionKey));
    apply(record, changeOf(record), order);
    return record;
  }

  /** I3, persist first: only a durable compare-and-set is announced, with the access token (never the refresh token). */
  async function write(expected: number, next: StoredSession, change: SessionChange): Promise<CompareAndSetResult> {
    const order = ++sequence;
    const result = await storeCall(() => store.compareAndSet(sessionKey, expected, next));
    if (result.ok) {
      apply(next, change, order);
      channel.post(announcementOf(next));
    } else {
      apply(result.current, changeOf(result.current), order);
    }
    return result;
  }

  /** Rewrites the recovery fields of the stored `session`, unannounced (nothing another window uses changes). */
  async function annotate(session: ActiveSession, recovery: Recovery): Promise<boolean> {
    const { refreshInFlight: _marker, backoffUntil: _backoff, ...record } = session;
    const order = ++sequence;
    const result = await storeCall(() => store.compareAndSet(sessionKey, session.generation, { ...record, ...recovery }));
    if (!result.ok) apply(result.current, changeOf(result.current), order);
    return result.ok;
  }

  function tombstone(generation: number, cause: 'signed-out' | 'expired'): StoredSession {
    return { sessionKey, generation: generation + 1, state: 'signed-out', cause, updatedAt: clock.now() };
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
    } catch (failure) {
      if (closed()) throw closedError();
      const reason = request.signal.aborted ? `no response within ${config.requestTimeoutMs} ms` : `network error: ${describe(failure)}`;
      // Offline, the request never left this machine; otherwise it may have been processed.
      return { kind: 'transient', reason, answered: offline() };
    } finally {
      clock.clearTimeout(timer);
      stopClose();
      stopAbort();
    }
  }

  /** A failure after a request was sent: reported as `refresh-failed`, then to the caller. */
  function sendFailed(code: ErrorCode, reason: string, willRetry = false): TokenHerdError {
    emit({ type: 'refresh-failed', code, reason, willRetry });
    return error(code, reason);
  }

  /**
   * Under the lock: read, decide, act, until the need is met or the session ends.
   * Each pass reads the store once and sends at most one request. A pass ends the
   * operation, retries a send (at most `retry.attempts` in a row), or finds that
   * someone else stored a newer session and adopts it (MAX_ADOPTIONS, then decide fails).
   */
  async function refreshUnderLock(need: Need): Promise<string> {
    let attempt = 0;
    let adoptions = 0;
    let refused = false;
    const maxPasses = (config.retry.attempts + 1) * (MAX_ADOPTIONS + 2);
    for (let pass = 0; pass < maxPasses; pass++) {
      const decision = decide(situation('lock', await readStore(), need, adoptions, refused));
      if (decision.do === 'use') return decision.token;
      if (decision.do === 'fail') throw error(decision.code, decision.reason);
      if (decision.do === 'expire') {
        const { generation } = decision.session;
        const result = await write(generation, tombstone(generation, 'expired'), 'expired');
        if (result.ok || result.current?.state !== 'active') throw error(ErrorCode.SESSION_EXPIRED, decision.reason);
        adoptions++;
        continue;
      }

      // Before each send, a marker records that the token may be consumed; it stays while the
      // outcome is unknown (a timeout, a reset, this window dying), so the next sender knows.
      const { session } = decision;
      const marker = markerFor(session, clock.now());
      if (!(await annotate(session, { refreshInFlight: marker }))) {
        adoptions++;
        continue;
      }
      if (offline()) offlineProbeSent = true;
      attempt++;
      const started = clock.now();
      emit({ type: 'refresh-started', generation: session.generation, attempt });
      refreshRequests++;
      const outcome = await requestOnce(decision.refreshToken);
      const verdict = judge(outcome, { session, marker, attempt, now: clock.now(), offline: offline() }, config, random());
      if (verdict.do === 'store') {
        if ((await write(session.generation, verdict.next, 'rotated')).ok) {
          emit({ type: 'refresh-succeeded', generation: verdict.next.generation, durationMs: clock.now() - started });
          return verdict.next.tokens.accessToken;
        }
        adoptions++; // a sign-out, sign-in or outside rotation was stored meanwhile: it wins, these tokens are discarded
        continue;
      }
      if (verdict.do === 'expire') {
        refused = true;
        // Clear only if the stored generation is still the one refused; a newer one is adopted.
        const cleared = await write(session.generation, tombstone(session.generation, 'expired'), 'expired');
        if (cleared.ok || cleared.current?.state !== 'active') throw sendFailed(ErrorCode.SESSION_EXPIRED, verdict.reason);
        adoptions++;
        continue;
      }
      if (verdict.recovery && !(await annotate(session, verdict.recovery))) {
        adoptions++;
        continue;
      }
      if (verdict.do === 'fail') throw sendFailed(verdict.code, verdict.reason);
      emit({ type: 'refresh-failed', code: ErrorCode.TRANSIENT, reason: verdict.reason, willRetry: true });
      await sleep(verdict.delayMs);
    }
    // Unreachable while the bound above holds (sends <= attempts per adoption round); a guard, not a path.
    throw error(ErrorCode.TRANSIENT, 'The stored session kept changing during the refresh; try again');
  }

  /**
   * Queues for the lock, bounded by `lockTimeoutMs`; leaves the queue as soon as an
   * announcement or a read makes memory serve the need, instead of taking the lock.
   */
  function underLock(need: Need): Promise<string> {
    return new Promise((resolve, reject) => {
      const wait = createAbortController();
      const requested = clock.now();
      let settled = false;
      const settle = (outcome: { token: string } | { error: unknown }): void => {
        if (settled) return;
        settled = true;
        stopWaiting();
        wait.abort();
        if ('token' in outcome) resolve(outcome.token);
        else reject(closed() ? closedError() : outcome.error);
      };
      const timer = clock.setTimeout(
        () => settle({ error: error(ErrorCode.LOCK_TIMEOUT, `The refresh lock was not granted within ${config.lockTimeoutMs} ms; the session is kept`) }),
        config.lockTimeoutMs,
      );
      const stopClose = onAbort(closer.signal, () => settle({ error: closedError() }));
      const watcher = (): void => {
        const decision = decide(situation('store', memory, need));
        if (decision.do === 'use') settle({ token: decision.token });
        else if (decision.do === 'fail') settle({ error: error(decision.code, decision.reason) });
      };
      changeWatchers.add(watcher);
      function stopWaiting(): void {
        clock.clearTimeout(timer);
        stopClose();
        changeWatchers.delete(watcher);
      }
      lock
        .request(lockName, { signal: wait.signal }, async () => {
          if (settled) return; // granted as this window left the queue: release at once
          stopWaiting();
          holdsLock = true;
          emit({ type: 'lock-acquired', waitedMs: clock.now() - requested });
          try {
            settle({ token: await refreshUnderLock(need) });
          } catch (failure) {
            settle({ error: failure });
          } finally {
            holdsLock = false;
            emit({ type: 'lock-released' });
          }
        })
        .catch((failure: unknown) => settle({ error: failure }));
    });
  }

  async function obtain(need: Need): Promise<string> {
    // A window that knows an active session learns of others' refreshes from their announcements,
    // so it goes straight to the lock queue (which it leaves on one). Reading the store here as well
    // would put a read per window in front of the refresher's at every expiry.
    if (memory?.state !== 'active') await readStore();
    // Memory, not the record read: an announcement that arrived during the read is newer.
    const decision = decide(situation('store', memory, need));
    if (decision.do === 'use') return decision.token;
    if (decision.do === 'fail') throw error(decision.code, decision.reason);
    return underLock(need);
  }

  /** Joins an operation in flight whose result meets `need`, or starts one. */
  function join(need: Need): Promise<string> {
    for (const operation of operations) if (covers(operation.need, need)) return operation.result;
    const operation: Operation = {
      need,
      result: obtain(need).finally(() => {
        operations.delete(operation);
      }),
    };
    operations.add(operation);
    return operation.result;
  }

  function withCallerSignal<T>(operation: Promise<T>, signal: AbortSignalLike | undefined): Promise<T> {
    if (signal === undefined) return operation;
    return new Promise((resolve, reject) => {
      const stop = onAbort(signal, (reason) => reject(error(ErrorCode.ABORTED, 'getAccessToken was aborted', reason)));
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

  /** I4 on the channel: a newer announced session is used without a store read; anything else is a hint to re-read. */
  function receive(message: SessionChangedMessage): void {
    const { generation, accessToken, expiresAt, cause } = message;
    if (accessToken === undefined || cause === undefined || generation <= (memory?.generation ?? 0)) {
      void reread();
      return;
    }
    const announced: StoredSession = {
      sessionKey,
      generation,
      state: 'active',
      cause,
      tokens: { accessToken, ...(expiresAt !== undefined && { expiresAt }) },
      updatedAt: clock.now(),
    };
    apply(announced, changeOf(announced), ++sequence);
  }

  function parseOptions(options: GetAccessTokenOptions): { need: Need; force: boolean } {
    if (typeof options !== 'object' || options === null) throw invalidOption('getAccessToken options must be an object');
    const { forceRefresh = false } = options;
    if (typeof forceRefresh !== 'boolean') throw invalidOption(`forceRefresh must be a boolean, got ${JSON.stringify(forceRefresh)}`);
    const seconds = numberOption('minValiditySeconds', options.minValiditySeconds, config.refreshLeewaySeconds, 0, 86_400);
    return { need: { minValidityMs: seconds * 1000 }, force: forceRefresh };
  }

  const unsubscribeNetwork = network?.onOnline(() => {
    offlineProbeSent = false;
  });
  const unsubscribeChannel = channel.subscribe((data) => {
    if (closed()) return;
    const message = parseMessage(data, clock.now());
    if (message?.sessionKey === sessionKey) receive(message);
  });

  return {
    getAccessToken(options = {}) {
      if (closed()) return Promise.reject(closedError());
      let parsed;
      try {
        parsed = parseOptions(options);
      } catch (failure) {
        return Promise.reject(failure);
      }
      const { need, force } = parsed;
      if (!force) {
        const decision = decide(situation('memory', memory, need));
        if (decision.do === 'use') return Promise.resolve(decision.token);
        return withCallerSignal(join(need), options.signal);
      }
      const forced = (async () => {
        if (!loaded) await readStore();
        // The token this window holds was refused: only another one will do.
        return join(memory?.state === 'active' ? { ...need, refusedToken: memory.tokens.accessToken } : need);
      })();
      return withCallerSignal(forced, options.signal);
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

function describe(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}
