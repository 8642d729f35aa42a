/**
 * The coordinator's decisions as pure functions: what a window knows (a stored
 * record, what its caller needs, the time) in, what to do next out. The driver in
 * coordinator.ts performs the I/O a decision names and asks again. Each row is a
 * rule of the design; the README's "one refresh, step by step" follows these
 * functions, and decide.test.ts tests them row by row.
 */
import { ErrorCode } from './errors.js';
import type { ProviderRefusal, RefreshOutcome } from './ports.js';
import { MAX_BACKOFF_MS, freshAccessToken, identityOf, isLater, isWaiting, parseTokenResponse, type ActiveSession, type Backoff, type RefreshInFlight, type StoredSession, type TokenSet, type Version } from './session.js';
import type { ResolvedSettings } from './settings.js';

/** What a caller needs. */
export interface Need {
  /** The access token must stay valid longer than this. */
  readonly minValidityMs: number;
  /** Set by `forceRefresh`: this access token was refused, so only another one will do. */
  readonly refusedToken?: string;
  /**
   * When the caller asked: the version its window held (generation 0 if it knew none) and the local clock.
   * A record stored since then (a later version, written at or after that instant, or, if the clock has
   * since gone back, no earlier than now) holds the freshest token
   * the provider gives: it serves whatever validity was asked while it is valid, so a leeway
   * or a need not shorter than the provider's token lifetime costs one request, not one per
   * waiter (I1).
   */
  readonly asked?: Version & { readonly at: number };
}

/** What the record was read from: memory; the store, without the lock; the store, under the lock. */
export type Vantage = 'memory' | 'store' | 'lock';

/** Everything `decide` looks at: what a window knows at one vantage point, now. */
export interface Situation<At extends Vantage = Vantage> {
  readonly record: StoredSession | undefined;
  readonly need: Need;
  readonly at: At;
  /** Local clock, milliseconds. */
  readonly now: number;
  /** Times this operation found a newer session stored by someone else and took it up. */
  readonly adoptions: number;
  /** The platform is offline and this window's one probe request is spent. */
  readonly offline: boolean;
}

/** What to do next with what a window knows. */
export type Decision =
  /** A token that meets the need: return it. */
  | { readonly do: 'use'; readonly token: string }
  /** Memory cannot serve: read the store. */
  | { readonly do: 'read' }
  /** The store cannot serve: queue for the lock, and leave the queue when an announcement serves. */
  | { readonly do: 'lock' }
  /** Under the lock: mark the record as in flight, then send its refresh token. */
  | { readonly do: 'refresh'; readonly session: ActiveSession; readonly refreshToken: string }
  /** The session cannot be refreshed: compare-and-set it to an `expired` tombstone, then fail SESSION_EXPIRED. */
  | { readonly do: 'expire'; readonly session: ActiveSession; readonly reason: string }
  | { readonly do: 'fail'; readonly code: ErrorCode; readonly reason: string };

/** What `decide` can answer at each vantage point. */
export type DecisionAt<At extends Vantage> = At extends 'memory'
  ? Extract<Decision, { do: 'use' | 'read' }>
  : At extends 'store'
    ? Extract<Decision, { do: 'use' | 'lock' | 'fail' }>
    : Exclude<Decision, { do: 'read' | 'lock' }>;

/** An operation adopts a session stored by someone else at most once, then refreshes it at most once more: no loops. */
export const MAX_ADOPTIONS = 1;

/** The access token of `record` if it meets `need` at `now`. */
export function usable(record: StoredSession | undefined, need: Need, now: number): string | undefined {
  const { asked } = need;
  const issuedSince =
    asked !== undefined && record?.state === 'active' && isLater(record, asked) && record.updatedAt >= Math.min(asked.at, now);
  const token = freshAccessToken(record, now, issuedSince ? 0 : need.minValidityMs);
  return token === need.refusedToken ? undefined : token;
}

/** Why a record that is not an active session cannot serve. */
function unusable(record: StoredSession | undefined): Extract<Decision, { do: 'fail' }> {
  return record?.state === 'signed-out' && record.cause === 'expired'
    ? { do: 'fail', code: ErrorCode.SESSION_EXPIRED, reason: 'The provider rejected the refresh token: sign in again' }
    : { do: 'fail', code: ErrorCode.NOT_SIGNED_IN, reason: 'No session is stored: sign in first' };
}

/** What to do with what a window knows now. */
export function decide<At extends Vantage>(situation: Situation<At>): DecisionAt<At>;
export function decide({ record, need, at, now, adoptions, offline }: Situation): Decision {
  // I4 (memory), adoption (store), I2 look before you send (lock): a token that serves is used, nothing is sent.
  const token = usable(record, need, now);
  if (token !== undefined) return { do: 'use', token };
  if (at === 'memory') return { do: 'read' };
  if (record?.state !== 'active') return unusable(record);
  // I1: only the lock holder refreshes. I7: an expired access token with a refresh token is refreshed, not signed out.
  if (at === 'store') return { do: 'lock' };
  // I5: at most one adoption round. The store still holds an active session (someone else
  // keeps rotating it), so this is no SESSION_EXPIRED, which means the store says so.
  if (adoptions > MAX_ADOPTIONS) return { do: 'fail', code: ErrorCode.TRANSIENT, reason: 'The stored session kept changing during the refresh; try again' };
  const { refreshToken } = record.tokens;
  if (refreshToken === undefined) {
    // The access token still works for callers that need less: only this caller's need is unmet.
    if (record.tokens.accessToken !== need.refusedToken && freshAccessToken(record, now, 0) !== undefined) {
      return { do: 'fail', code: ErrorCode.CANNOT_REFRESH, reason: 'The session has no refresh token, and its access token expires sooner than asked' };
    }
    return { do: 'expire', session: record, reason: 'The access token expired and the session has no refresh token: sign in again' };
  }
  // I11: a refresh token that looks expired on the local clock is still sent: the provider decides.
  // I6: a breaker shared through the store, and one probe while offline.
  const { backoff } = record;
  if (isWaiting(backoff, now)) {
    return { do: 'fail', code: ErrorCode.TRANSIENT, reason: `The provider asked to wait: no refresh for ${backoff.since + backoff.ms - now} ms` };
  }
  if (offline) return { do: 'fail', code: ErrorCode.TRANSIENT, reason: 'Offline: no refresh until the network is back' };
  return { do: 'refresh', session: record, refreshToken };
}

/** The recovery fields to write back to the record sent; absent: leave the marker of the send in place. */
export interface Recovery {
  readonly refreshInFlight?: RefreshInFlight;
  readonly backoff?: Backoff;
}

/** A refresh request that was sent, as `judge` needs to know it. */
export interface Sent {
  /** The record whose refresh token was sent; its `refreshInFlight` is the marker from before this send. */
  readonly session: ActiveSession;
  /** The marker written before this send. */
  readonly marker: RefreshInFlight;
  /** Sends in this operation, this one included. */
  readonly attempt: number;
  /** When the answer (or its absence) was known, local clock. */
  readonly now: number;
  /** The platform is offline now. */
  readonly offline: boolean;
}

/** What to do about a refresh request's outcome. */
export type Verdict =
  /** I3: compare-and-set from the sent generation to `next`, then announce it. */
  | { readonly do: 'store'; readonly next: ActiveSession }
  /** I5: the token was refused: expire by compare-and-set; if a newer session is stored, adopt it. */
  | { readonly do: 'expire'; readonly reason: string; readonly refusal: ProviderRefusal }
  | { readonly do: 'retry'; readonly delayMs: number; readonly reason: string; readonly recovery?: Recovery }
  | { readonly do: 'fail'; readonly code: ErrorCode; readonly reason: string; readonly recovery?: Recovery; readonly refusal?: ProviderRefusal };

/** I11: a wait a provider asked for, cut to MAX_BACKOFF_MS; anything not a finite number is the longest wait. */
function capWait(ms: number): number {
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_BACKOFF_MS) : MAX_BACKOFF_MS;
}

/** The marker to write before sending the refresh token of `session` at `now`. */
export function markerFor(session: ActiveSession, now: number): RefreshInFlight {
  const before = session.refreshInFlight;
  return { since: before?.since ?? now, unknownSends: (before?.unknownSends ?? 0) + 1 };
}

/** What a refresh request came to, and what to do about it. `random` in [0, 1) jitters the backoff. */
export function judge(outcome: RefreshOutcome, sent: Sent, settings: Pick<ResolvedSettings, 'profile' | 'retry'>, random: number): Verdict {
  const { session, marker, attempt, now } = sent;
  const before = session.refreshInFlight;
  // The provider answered, so this send consumed nothing: the record goes back to what it was.
  const restored: Recovery = before ? { refreshInFlight: before } : {};
  switch (outcome.kind) {
    case 'tokens': {
      let tokens: TokenSet;
      try {
        tokens = parseTokenResponse(outcome.response, now);
      } catch (error) {
        // The marker stays: the provider may have rotated the token it answered for.
        return { do: 'fail', code: ErrorCode.INVALID_TOKEN_RESPONSE, reason: error instanceof Error ? error.message : String(error) };
      }
      const { refreshToken, refreshExpiresAt } = session.tokens;
      // A provider that does not rotate keeps the refresh token (and its expiry) valid.
      const kept: TokenSet =
        tokens.refreshToken === undefined
          ? { ...tokens, ...(refreshToken !== undefined && { refreshToken }), ...(refreshExpiresAt !== undefined && { refreshExpiresAt }) }
          : tokens;
      return {
        do: 'store',
        next: { ...identityOf(session), generation: session.generation + 1, state: 'active', cause: 'rotated', tokens: kept, updatedAt: now },
      };
    }
    case 'rejected': {
      const { kind: _kind, ...refusal } = outcome;
      const said = refusal.description ? `${refusal.error}: ${refusal.description}` : refusal.error;
      return {
        do: 'expire',
        refusal,
        // What is known: the provider no longer takes this token. An earlier send without an answer
        // may explain it, or not (a provider restarted without its grants refuses the same way).
        reason: before
          ? `The provider rejected the refresh token (${said}). ${before.unknownSends === 1 ? 'An earlier request with it got' : `${before.unknownSends} earlier requests with it got`} no answer: either the provider rotated it then and that response lost on the way carried the new token, or the provider no longer knows it (a restart that lost its grants, a revoked grant). Sign in again`
          : `The provider rejected the refresh token (${said}): it no longer accepts it (used elsewhere, revoked, expired, or unknown after a restart). Sign in again`,
      };
    }
    case 'provider-error': {
      const { kind: _kind, ...refusal } = outcome;
      return {
        do: 'fail',
        code: ErrorCode.PROVIDER_ERROR,
        reason: `The provider refused the refresh: ${refusal.error}${refusal.description ? ` (${refusal.description})` : ''}`,
        recovery: restored,
        refusal,
      };
    }
    case 'invalid-response':
      // A success status the body of which cannot be used: as with a token body that fails
      // validation, the provider may have rotated, so the marker of this send stays.
      return { do: 'fail', code: ErrorCode.INVALID_TOKEN_RESPONSE, reason: `Invalid token response: ${outcome.reason}` };
    case 'transient': {
      const { profile, retry } = settings;
      const retryAfterMs = outcome.retryAfterMs === undefined ? undefined : capWait(outcome.retryAfterMs);
      const reason = `Refresh failed transiently: ${outcome.reason}`;
      // Unanswered, the provider may have rotated the token: the marker of this send stays.
      const recovery = outcome.answered ? { recovery: restored } : {};
      // Resending after an unknown outcome is a reuse if the lost response carried a rotation:
      // only a provider that tolerates reuse (within its grace window) makes that safe.
      const safe = outcome.answered || !profile.rotates || now - marker.since < profile.reuseGraceMs;
      const patient = retryAfterMs === undefined || retryAfterMs <= retry.maxDelayMs;
      if (safe && patient && attempt < retry.attempts) {
        const ceiling = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        return { do: 'retry', delayMs: Math.max(retryAfterMs ?? 0, random * ceiling), reason, ...recovery };
      }
      if (outcome.answered && !sent.offline) {
        // The provider asked everyone to wait: no window sends before then.
        const ms = retryAfterMs ?? Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
        return { do: 'fail', code: ErrorCode.TRANSIENT, reason, recovery: { ...restored, backoff: { since: now, ms } } };
      }
      return { do: 'fail', code: ErrorCode.TRANSIENT, reason, ...recovery };
    }
  }
}
