import { createAbortController, onAbort } from './abort.js';
import { MAX_ADOPTIONS, judge, markerFor, type DecisionAt, type Need, type Vantage } from './decide.js';
import { ErrorCode, TokenHerdError, isTokenHerdError, requestContextOf, type RequestContext } from './errors.js';
import type { TokenHerdEvent } from './events.js';
import type { Lifetime } from './lifetime.js';
import type { OfflineProbe } from './offline-probe.js';
import type { Clock, CompareAndSetResult, ProviderRefusal, RefreshOutcome, TokenEndpoint } from './ports.js';
import { identityOf, versionOf, type ActiveSession, type StoredSession } from './session.js';
import type { SessionView } from './session-view.js';
import type { ResolvedSettings } from './settings.js';

/** What one refresh operation has done so far: all the state its loop keeps. */
export interface Progress {
  /** Requests sent. */
  attempt: number;
  /** Times it found a newer session stored by someone else and took it up. */
  adoptions: number;
}

/** `decide` at a vantage point, now, with this window's offline state and the operation's progress. */
export type Look = <At extends Vantage>(at: At, record: StoredSession | undefined, need: Need, progress?: Progress) => DecisionAt<At>;

/** What the refresh operation runs on. */
export interface RefreshPorts {
  readonly settings: ResolvedSettings;
  readonly view: SessionView;
  readonly endpoint: TokenEndpoint;
  readonly clock: Clock;
  readonly lifetime: Lifetime;
  readonly probe: OfflineProbe;
  readonly look: Look;
  readonly random: () => number;
  readonly emit: (event: TokenHerdEvent) => void;
}

/** A window's refresh operations, run one at a time under the session's lock. */
export interface Refresher {
  /**
   * Under the lock: read, decide, act, until the need is met or the session ends.
   * Each pass reads the store once and sends at most one request; a pass ends the
   * operation, retries a send (at most `retry.attempts` in a row), or takes up a
   * newer session someone else stored (at most MAX_ADOPTIONS, then `decide` fails).
   */
  refresh(need: Need): Promise<string>;
  /** Token endpoint requests this window has sent. */
  requests(): number;
}

/** Retries of a failed store of rotated tokens; the deadline (`requestTimeoutMs`) usually ends them first. */
const MAX_WRITE_RETRIES = 8;

/** `reason`, naming the request it is about unless it does already. */
const located = (reason: string, where: RequestContext | undefined): string =>
  where && !reason.includes(where.url) ? `${reason} (${where.phase} ${where.url})` : reason;

const providerFields = (refusal: ProviderRefusal | undefined) =>
  refusal && { error: refusal.error, ...(refusal.description !== undefined && { error_description: refusal.description }), ...(refusal.status !== undefined && { status: refusal.status }) };

/**
 * A window's refresh operation.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 (refresh token rotation and reuse detection)
 */
export function createRefresher({ settings, view, endpoint, clock, lifetime, probe, look, random, emit }: RefreshPorts): Refresher {
  let requests = 0;

  let shortLifetimeReported = false;
  /** Once per coordinator: the provider's tokens live no longer than the leeway (see the `leeway-exceeds-lifetime` event). */
  function reportShortLifetime({ tokens, updatedAt }: ActiveSession): void {
    if (shortLifetimeReported || tokens.expiresAt === undefined) return;
    const lifetimeSeconds = Math.round((tokens.expiresAt - updatedAt) / 1000);
    if (lifetimeSeconds > settings.refreshLeewaySeconds) return;
    shortLifetimeReported = true;
    emit({ type: 'leeway-exceeds-lifetime', leewaySeconds: settings.refreshLeewaySeconds, lifetimeSeconds });
  }

  /** A failure after a request was sent: reported as `refresh-failed`, then to the caller, with the request's URL and phase. */
  function sendFailed(code: ErrorCode, reason: string, refusal?: ProviderRefusal, where?: RequestContext): TokenHerdError {
    const message = located(reason, where);
    emit({ type: 'refresh-failed', code, reason: message, willRetry: false });
    return new TokenHerdError(code, message, { ...providerFields(refusal), ...where });
  }

  /**
   * I5: ends the session by compare-and-set to an `expired` tombstone, only if the stored
   * version is still `session`'s; a newer active session stored meanwhile is adopted instead.
   */
  async function expire(session: ActiveSession, reason: string, progress: Progress, refusal?: ProviderRefusal, where?: RequestContext): Promise<void> {
    const tombstone: StoredSession = { ...identityOf(session), generation: session.generation + 1, state: 'signed-out', cause: 'expired', updatedAt: clock.now() };
    const result = await view.write(versionOf(session), tombstone, 'expired');
    if (result.ok || result.current?.state !== 'active') {
      throw refusal ? sendFailed(ErrorCode.SESSION_EXPIRED, reason, refusal, where) : new TokenHerdError(ErrorCode.SESSION_EXPIRED, reason);
    }
    progress.adoptions++;
  }

  /**
   * I12, never throw away what the provider issued: the old refresh token is spent, so a store
   * that fails (a database restarting) is retried under the lock with backoff for up to
   * `requestTimeoutMs`, while this window serves the new tokens. Past that, the failure stands.
   */
  async function storeRotated(session: ActiveSession, next: ActiveSession): Promise<CompareAndSetResult> {
    const deadline = clock.now() + settings.requestTimeoutMs;
    for (let attempt = 0; attempt < MAX_WRITE_RETRIES; attempt++) {
      try {
        return await view.write(versionOf(session), next, 'rotated');
      } catch (failure) {
        if (!isTokenHerdError(failure, ErrorCode.TRANSIENT) || clock.now() >= deadline) throw failure;
        view.hold(next);
        await lifetime.sleep(Math.min(settings.retry.maxDelayMs, settings.retry.baseDelayMs * 2 ** attempt, deadline - clock.now()));
      }
    }
    return view.write(versionOf(session), next, 'rotated'); // the last try: its failure stands
  }

  /** One token endpoint request, bounded by `requestTimeoutMs` even if the endpoint ignores its signal. */
  async function requestOnce(refreshToken: string): Promise<RefreshOutcome> {
    const request = createAbortController();
    const timer = clock.setTimeout(() => request.abort('timeout'), settings.requestTimeoutMs);
    const stopClose = onAbort(lifetime.signal, (reason) => request.abort(reason));
    let stopAbort = (): void => {};
    try {
      return await Promise.race([
        endpoint.refresh(refreshToken, { signal: request.signal }),
        new Promise<never>((_, reject) => {
          stopAbort = onAbort(request.signal, reject);
        }),
      ]);
    } catch (failure) {
      if (lifetime.closed()) throw lifetime.closedError();
      // The endpoint knows this request cannot work as configured: this call ends, the session stays.
      if (!request.signal.aborted && isTokenHerdError(failure, ErrorCode.MISCONFIGURED)) throw failure;
      const reason = request.signal.aborted
        ? `no response within ${settings.requestTimeoutMs} ms`
        : isTokenHerdError(failure)
          ? failure.message
          : `network error: ${failure instanceof Error ? failure.message : String(failure)}`;
      // Offline, the request never left this machine; otherwise it may have been processed.
      return { ...requestContextOf(failure), kind: 'transient', reason, answered: probe.offline() };
    } finally {
      clock.clearTimeout(timer);
      stopClose();
      stopAbort();
    }
  }

  /** Marks `session` as in flight, sends its refresh token and acts on the answer; the new token, or undefined to decide again. */
  async function send(session: ActiveSession, refreshToken: string, need: Need, progress: Progress): Promise<string | undefined> {
    // The marker records that the token may be consumed; it stays while the outcome is
    // unknown (a timeout, a reset, this window dying), so the next sender knows.
    const marker = markerFor(session, clock.now());
    if (!(await view.annotate(session, { refreshInFlight: marker }))) {
      progress.adoptions++;
      return undefined;
    }
    probe.sent();
    const attempt = ++progress.attempt;
    const started = clock.now();
    emit({ type: 'refresh-started', generation: session.generation, attempt });
    requests++;
    const outcome = await requestOnce(refreshToken).catch(async (failure: unknown) => {
      if (isTokenHerdError(failure, ErrorCode.MISCONFIGURED)) {
        // The endpoint processed nothing this send carried (or earlier unanswered sends keep their marker):
        // the record goes back to what it was; a store failure here surfaces on the next read.
        await view.annotate(session, session.refreshInFlight ? { refreshInFlight: session.refreshInFlight } : {}).catch(() => false);
        emit({ type: 'refresh-failed', code: failure.code, reason: failure.message, willRetry: false });
      }
      throw failure;
    });
    const where = requestContextOf(outcome);
    const verdict = judge(outcome, { session, marker, attempt, now: clock.now(), offline: probe.offline() }, settings, random());
    switch (verdict.do) {
      case 'store':
        if ((await storeRotated(session, verdict.next)).ok) {
          emit({ type: 'refresh-succeeded', generation: verdict.next.generation, durationMs: clock.now() - started });
          reportShortLifetime(verdict.next);
          // Time may have passed during the write (a machine asleep): the caller gets a token that serves now, or another.
          const stored = look('lock', verdict.next, need, progress);
          return stored.do === 'use' ? stored.token : undefined;
        }
        progress.adoptions++; // a sign-out, sign-in or outside rotation was stored meanwhile: it wins, these tokens are discarded
        return undefined;
      case 'expire':
        await expire(session, verdict.reason, progress, verdict.refusal, where);
        return undefined;
      case 'fail':
      case 'retry':
        if (verdict.recovery && !(await view.annotate(session, verdict.recovery))) {
          progress.adoptions++;
          return undefined;
        }
        if (verdict.do === 'fail') throw sendFailed(verdict.code, verdict.reason, verdict.refusal, where);
        emit({ type: 'refresh-failed', code: ErrorCode.TRANSIENT, reason: located(verdict.reason, where), willRetry: true });
        await lifetime.sleep(verdict.delayMs);
        return undefined;
    }
  }

  return {
    async refresh(need) {
      const progress: Progress = { attempt: 0, adoptions: 0 };
      // Sends are at most `retry.attempts` per adoption round, and rounds at most MAX_ADOPTIONS + 1.
      const maxPasses = (settings.retry.attempts + 1) * (MAX_ADOPTIONS + 2);
      for (let pass = 0; pass < maxPasses; pass++) {
        const decision = look('lock', await view.read(), need, progress);
        switch (decision.do) {
          case 'use':
            return decision.token;
          case 'fail':
            throw new TokenHerdError(decision.code, decision.reason);
          case 'expire':
            await expire(decision.session, decision.reason, progress);
            break;
          case 'refresh': {
            const token = await send(decision.session, decision.refreshToken, need, progress);
            if (token !== undefined) return token;
            break;
          }
        }
      }
      // Unreachable while the bound above holds; a guard, not a path.
      throw new TokenHerdError(ErrorCode.TRANSIENT, 'The stored session kept changing during the refresh; try again');
    },
    requests: () => requests,
  };
}
