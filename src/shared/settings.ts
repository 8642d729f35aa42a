import { ErrorCode, TokenHerdError } from './errors.js';
import { MAX_SESSION_KEY_LENGTH } from './messages.js';

/**
 * How the provider treats a refresh token that was already used; it decides what
 * recovery may do after a response was lost (a window closed mid-request, a reset):
 * - `oidc` (default) and `github`: single use; reuse is rejected (GitHub) or revokes
 *   the grant (oidc-provider, and by default Auth0, Okta, Atlassian);
 * - `{ reuseGraceSeconds }`: the previous token may be reused for that long (Auth0
 *   overlap, Okta grace, Atlassian leeway), so a lost response is recovered by
 *   sending the same token again within the window;
 * - `non-rotating`: refresh tokens stay valid (Google, Microsoft Entra).
 */
export type ProviderProfile = 'oidc' | 'github' | 'non-rotating' | { readonly reuseGraceSeconds: number };

/** Tuning of the coordinator core; every field but `sessionKey` has a default. */
export interface CoordinatorSettings {
  /** Names the lock, the channel and the stored record: one per provider account. */
  readonly sessionKey: string;
  /** A token closer than this to expiry is refreshed. Default 60. */
  readonly refreshLeewaySeconds?: number;
  /** How long a window waits for the refresh lock before LOCK_TIMEOUT. Default 30 000. */
  readonly lockTimeoutMs?: number;
  /** Timeout of one token endpoint request; a hung request cannot hold the lock longer. Default 10 000. */
  readonly requestTimeoutMs?: number;
  /** Default `oidc`. */
  readonly profile?: ProviderProfile;
  /**
   * One window or process of the session holds the scheduler role and refreshes ahead of expiry
   * for all, so callers find a fresh token in memory; `false`: refresh only when a caller needs it.
   * Default true (with `tokenherd/core`, it needs the `role` port).
   */
  readonly autoRefresh?: boolean;
  /** Retries of transient failures within one refresh, with full-jitter exponential backoff. */
  readonly retry?: {
    /** Requests per refresh, first one included. Default 3. */
    readonly attempts?: number;
    /** Default 250. */
    readonly baseDelayMs?: number;
    /** Cap of one backoff delay; a longer `Retry-After` ends the refresh with TRANSIENT instead of holding the lock. Default 5 000. */
    readonly maxDelayMs?: number;
  };
}

/** `CoordinatorSettings` checked and with every default filled in: what the core takes. */
export interface ResolvedSettings {
  readonly sessionKey: string;
  readonly refreshLeewaySeconds: number;
  readonly lockTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Whether a sent refresh token may be consumed, and for how long after that it may still be reused. */
  readonly profile: { readonly name: string; readonly rotates: boolean; readonly reuseGraceMs: number };
  readonly autoRefresh: boolean;
  readonly retry: { readonly attempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
}

/** The error of an option that failed validation (INVALID_OPTIONS). */
export function invalidOption(message: string): TokenHerdError {
  return new TokenHerdError(ErrorCode.INVALID_OPTIONS, message);
}

/** Returns `value` (or `fallback` when undefined) if it is a number in [min, max]; throws INVALID_OPTIONS otherwise. */
export function numberOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalidOption(`${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Checks `settings` and fills in the defaults, once, for `createCoordinatorCore`.
 * @throws INVALID_OPTIONS naming the first option that fails
 */
export function resolveSettings(settings: CoordinatorSettings): ResolvedSettings {
  if (typeof settings !== 'object' || settings === null) throw invalidOption('options must be an object');
  const { sessionKey } = settings;
  if (typeof sessionKey !== 'string' || sessionKey.length === 0 || sessionKey.length > MAX_SESSION_KEY_LENGTH) {
    throw invalidOption(`sessionKey must be a non-empty string of at most ${MAX_SESSION_KEY_LENGTH} characters`);
  }
  const { autoRefresh = true } = settings;
  if (typeof autoRefresh !== 'boolean') throw invalidOption(`autoRefresh must be a boolean, got ${JSON.stringify(autoRefresh)}`);
  const retry = settings.retry ?? {};
  const baseDelayMs = numberOption('retry.baseDelayMs', retry.baseDelayMs, 250, 0, 60_000);
  return {
    sessionKey,
    refreshLeewaySeconds: numberOption('refreshLeewaySeconds', settings.refreshLeewaySeconds, 60, 0, 86_400),
    lockTimeoutMs: numberOption('lockTimeoutMs', settings.lockTimeoutMs, 30_000, 1, 600_000),
    requestTimeoutMs: numberOption('requestTimeoutMs', settings.requestTimeoutMs, 10_000, 1, 600_000),
    profile: resolveProfile(settings.profile),
    autoRefresh,
    retry: {
      attempts: Math.floor(numberOption('retry.attempts', retry.attempts, 3, 1, 10)),
      baseDelayMs,
      maxDelayMs: numberOption('retry.maxDelayMs', retry.maxDelayMs, Math.max(5_000, baseDelayMs), baseDelayMs, 600_000),
    },
  };
}

function resolveProfile(profile: unknown): ResolvedSettings['profile'] {
  if (profile === undefined || profile === 'oidc' || profile === 'github') return { name: profile ?? 'oidc', rotates: true, reuseGraceMs: 0 };
  if (profile === 'non-rotating') return { name: profile, rotates: false, reuseGraceMs: 0 };
  if (typeof profile === 'object' && profile !== null && 'reuseGraceSeconds' in profile) {
    const seconds = numberOption('profile.reuseGraceSeconds', profile.reuseGraceSeconds, 0, 0, 86_400);
    return { name: 'reuse-grace', rotates: true, reuseGraceMs: seconds * 1000 };
  }
  throw invalidOption(`profile must be 'oidc', 'github', 'non-rotating' or { reuseGraceSeconds }, got ${JSON.stringify(profile)}`);
}
