import { ErrorCode, TokenHerdError } from './errors.js';

/** Tokens as stored. The refresh token never leaves the store and the refresher. */
export interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken?: string;
  /**
   * Expiry on the local clock: receipt time plus `expires_in` (never the token's
   * own `exp`, which a skewed local clock would misread). Absent when the
   * provider gave no `expires_in`: the token is used until a 401 says otherwise.
   */
  readonly expiresAt?: number;
  /** When the provider says the refresh token dies (GitHub's `refresh_token_expires_in`), on the local clock. */
  readonly refreshExpiresAt?: number;
  readonly scope?: string;
}

/**
 * Written before a refresh token is sent and kept while the outcome is unknown
 * (a timeout, a reset, a window closed mid-request): the provider may have
 * rotated the token and the response been lost.
 */
export interface RefreshInFlight {
  /** When the first of these sends left, on the local clock. */
  readonly since: number;
  /** Sends of this refresh token whose outcome is unknown. */
  readonly unknownSends: number;
}

/** The longest wait a provider can impose (`Retry-After`, backoff): a longer one is cut to this. */
export const MAX_BACKOFF_MS = 10 * 60_000;

/**
 * I11, durations, not instants: a wait is stored as when it began and how long it
 * lasts, so a clock set back cannot stretch it (before `since`, it is over).
 */
export interface Backoff {
  /** When the provider's answer arrived, on the local clock. */
  readonly since: number;
  /** How long to wait, at most MAX_BACKOFF_MS. */
  readonly ms: number;
}

/**
 * The one stored record of a session key. `generation` only grows within a session: every
 * write (sign-in, rotation, sign-out, expiry) is a compare-and-set from the version it read,
 * so a late writer holding an old version loses.
 */
export type StoredSession =
  | {
      readonly sessionKey: string;
      readonly generation: number;
      /**
       * Chosen at random by the sign-in and kept by every later write of that session (rotations,
       * markers, its tombstone). Generations restart when storage is cleared; ids do not repeat,
       * so no write about one session lands on another (I10). Absent in records of tokenherd 0.1.
       */
      readonly sessionId?: string;
      readonly state: 'active';
      readonly cause: 'signed-in' | 'rotated';
      readonly tokens: TokenSet;
      readonly updatedAt: number;
      readonly refreshInFlight?: RefreshInFlight;
      /** The provider asked to wait (5xx, 429): shared through the store, so no window sends until it is over. */
      readonly backoff?: Backoff;
    }
  | {
      /** A tombstone: it keeps the generation so that no late refresh can resurrect the session. */
      readonly sessionKey: string;
      readonly generation: number;
      readonly sessionId?: string;
      readonly state: 'signed-out';
      readonly cause: 'signed-out' | 'expired';
      readonly updatedAt: number;
    };

/** A stored record of a signed-in session. */
export type ActiveSession = Extract<StoredSession, { state: 'active' }>;

/** Which record a compare-and-set expects to replace: generation 0 when none is stored. */
export interface Version {
  readonly generation: number;
  readonly sessionId?: string;
}

/** The version of `record` (generation 0 when there is none). */
export function versionOf(record: StoredSession | undefined): Version {
  if (record === undefined) return { generation: 0 };
  const { sessionKey: _key, ...id } = identityOf(record);
  return { generation: record.generation, ...id };
}

/** Four 32-bit draws of `random`: the session id of a core built without `sessionIds`. */
export function randomSessionId(random: () => number): string {
  return Array.from({ length: 4 }, () => Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0')).join('');
}

/** The key and id that every later record of `record`'s session carries. */
export function identityOf(record: StoredSession): { readonly sessionKey: string; readonly sessionId?: string } {
  return record.sessionId === undefined ? { sessionKey: record.sessionKey } : { sessionKey: record.sessionKey, sessionId: record.sessionId };
}

/** Whether the stored `record` is the one `expected` names: every store's compare-and-set test. */
export function isVersion(record: StoredSession | undefined, expected: Version): boolean {
  if (record === undefined) return expected.generation === 0;
  return record.generation === expected.generation && record.sessionId === expected.sessionId;
}

/**
 * Whether `version` came after `than`: a later generation of the same session, or another
 * session (storage cleared and signed in anew: generations restarted, ids did not).
 */
export function isLater(version: Version, than: Version): boolean {
  return version.sessionId !== than.sessionId || version.generation > than.generation;
}

/** The longest session id accepted from storage or a message. */
export const MAX_SESSION_ID_LENGTH = 256;

/** Bounds that reject absurd provider data (RFC 6749 section 5.1 gives none). */
export const MAX_TOKEN_LENGTH = 16_384;
/** The longest `expires_in` accepted from a token response: anything longer is a malformed answer. */
export const MAX_EXPIRES_IN_SECONDS = 366 * 24 * 3600;
/** The longest `refresh_token_expires_in` accepted (GitHub sends about 6 months). */
export const MAX_REFRESH_EXPIRES_IN_SECONDS = 10 * 366 * 24 * 3600;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isToken = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TOKEN_LENGTH;
const isSeconds = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0 && v <= max;
const isOptional = (v: unknown, check: (v: unknown) => boolean): boolean => v === undefined || check(v);
const isTime = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function invalid(reason: string): TokenHerdError {
  return new TokenHerdError(ErrorCode.INVALID_TOKEN_RESPONSE, `Invalid token response: ${reason}`);
}

/**
 * Validates a token endpoint response and turns it into a token set received at
 * `receivedAt` (local clock, milliseconds). Throws INVALID_TOKEN_RESPONSE.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.1
 */
export function parseTokenResponse(response: unknown, receivedAt: number): TokenSet {
  if (!isRecord(response)) throw invalid('not a JSON object');
  const { access_token, token_type, expires_in, refresh_token, refresh_token_expires_in, scope } = response;
  if (!isToken(access_token)) throw invalid('access_token must be a non-empty string');
  // "DPoP": a token bound to the session's DPoP key (RFC 9449 section 5), used only with proofs of it.
  if (typeof token_type !== 'string' || !['bearer', 'dpop'].includes(token_type.toLowerCase())) {
    throw invalid(`token_type must be "Bearer" or "DPoP", got ${JSON.stringify(token_type)}`);
  }
  if (expires_in !== undefined && !isSeconds(expires_in, MAX_EXPIRES_IN_SECONDS)) {
    throw invalid(`expires_in must be a whole number of seconds in 1..${MAX_EXPIRES_IN_SECONDS}`);
  }
  if (refresh_token !== undefined && !isToken(refresh_token)) throw invalid('refresh_token must be a non-empty string');
  if (refresh_token_expires_in !== undefined && !isSeconds(refresh_token_expires_in, MAX_REFRESH_EXPIRES_IN_SECONDS)) {
    throw invalid(`refresh_token_expires_in must be a whole number of seconds in 1..${MAX_REFRESH_EXPIRES_IN_SECONDS}`);
  }
  if (scope !== undefined && typeof scope !== 'string') throw invalid('scope must be a string');
  return {
    accessToken: access_token,
    ...(refresh_token !== undefined && { refreshToken: refresh_token }),
    ...(expires_in !== undefined && { expiresAt: receivedAt + expires_in * 1000 }),
    ...(refresh_token_expires_in !== undefined && { refreshExpiresAt: receivedAt + refresh_token_expires_in * 1000 }),
    ...(scope !== undefined && { scope }),
  };
}

/** Shape check for what storage hands back (another app version or a user may have written it). */
export function isStoredSession(value: unknown): value is StoredSession {
  if (!isRecord(value)) return false;
  const { sessionKey, generation, sessionId, state, cause, updatedAt } = value;
  if (typeof sessionKey !== 'string' || !Number.isSafeInteger(generation) || (generation as number) < 1) return false;
  if (typeof updatedAt !== 'number') return false;
  if (!isOptional(sessionId, (v) => typeof v === 'string' && v.length > 0 && v.length <= MAX_SESSION_ID_LENGTH)) return false;
  if (state === 'signed-out') return cause === 'signed-out' || cause === 'expired';
  if (state !== 'active' || (cause !== 'signed-in' && cause !== 'rotated')) return false;
  const { tokens, refreshInFlight, backoff } = value;
  return (
    isRecord(tokens) &&
    isToken(tokens['accessToken']) &&
    isOptional(tokens['refreshToken'], isToken) &&
    isOptional(tokens['expiresAt'], isTime) &&
    isOptional(tokens['refreshExpiresAt'], isTime) &&
    isOptional(tokens['scope'], (v) => typeof v === 'string') &&
    isOptional(refreshInFlight, (v) => isRecord(v) && isTime(v['since']) && Number.isSafeInteger(v['unknownSends'])) &&
    isOptional(backoff, (v) => isRecord(v) && isTime(v['since']) && typeof v['ms'] === 'number' && v['ms'] >= 0 && v['ms'] <= MAX_BACKOFF_MS)
  );
}

/** Whether `backoff` forbids a refresh at `now`: only between its start and its end on the local clock. */
export function isWaiting(backoff: Backoff | undefined, now: number): backoff is Backoff {
  return backoff !== undefined && backoff.since <= now && now < backoff.since + backoff.ms;
}

/** The access token if it stays valid for more than `minValidityMs` from `now`. */
export function freshAccessToken(session: StoredSession | undefined, now: number, minValidityMs: number): string | undefined {
  if (session?.state !== 'active') return undefined;
  const { accessToken, expiresAt } = session.tokens;
  return expiresAt === undefined || expiresAt - now > minValidityMs ? accessToken : undefined;
}
