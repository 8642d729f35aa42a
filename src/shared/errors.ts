/**
 * Stable error codes. Callers branch on `code`, never on `instanceof`: errors
 * cross IPC and structured clone without their class.
 */
export const ErrorCode = {
  /** No session is stored (never signed in, or signed out). */
  NOT_SIGNED_IN: 'NOT_SIGNED_IN',
  /** The provider rejected the refresh token and no newer session is stored: sign in again. */
  SESSION_EXPIRED: 'SESSION_EXPIRED',
  /** 5xx, 429, network error, timeout, or storage failure. The session is kept; try again later. */
  TRANSIENT: 'TRANSIENT',
  /** The refresh lock was not granted within `lockTimeoutMs` (a holder that never returns). The session is kept. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  /** The provider refused the request for a reason other than the refresh token (`invalid_client`, `invalid_scope`...): a configuration problem. The session is kept. */
  PROVIDER_ERROR: 'PROVIDER_ERROR',
  /** A token endpoint response (or a token response given to `setSession`) failed validation. The store is unchanged. */
  INVALID_TOKEN_RESPONSE: 'INVALID_TOKEN_RESPONSE',
  /** `createTokenCoordinator` options failed validation. */
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  /** The caller's `signal` aborted its wait. Other callers sharing the operation are unaffected. */
  ABORTED: 'ABORTED',
  /** The environment lacks Web Locks, BroadcastChannel or IndexedDB; tokenherd never refreshes without the lock. */
  UNSUPPORTED: 'UNSUPPORTED',
  /**
   * The stored session cannot be read (a truncated or hand-edited session file, a damaged
   * row). It is left as it is, never overwritten; a person must move it away or delete it.
   */
  STORE_CORRUPT: 'STORE_CORRUPT',
  /** The coordinator was closed. */
  CLOSED: 'CLOSED',
  /**
   * The session has no refresh token and its access token, still valid, expires sooner than
   * this caller asked (`minValiditySeconds`, or the leeway). The session is kept for others.
   */
  CANNOT_REFRESH: 'CANNOT_REFRESH',

  // Reported by any `Sealer` (src/oauth/sealed-store.ts reads them); the desktop shell's own codes are in src/desktop/errors.ts.
  /** The OS keychain cannot seal or unseal (no keyring, or Linux's plaintext `basic_text` backend). */
  SEALING_UNAVAILABLE: 'SEALING_UNAVAILABLE',
  /** The keychain could not decrypt the value: sealed under another key (another user or machine). */
  UNSEAL_FAILED: 'UNSEAL_FAILED',

  // The sign-in helpers' (src/renderer/sign-in.ts, the desktop app's system-browser sign-in).
  /** The user gave up: closed the sign-in popup or window, refused at the provider (`access_denied`), or let the sign-in time out. Nothing is stored. */
  SIGN_IN_CANCELLED: 'SIGN_IN_CANCELLED',
  /** A sign-in failed: discovery, a callback whose state matches no sign-in in progress, an error from the provider, or the code exchange. Nothing is stored. */
  SIGN_IN_FAILED: 'SIGN_IN_FAILED',

  /**
   * A request cannot work as configured, and waiting will not fix it: no server answers at
   * the URL (refused on every attempt, an unknown host), the token endpoint path is wrong
   * (404, 405), the issuer's discovery document is missing or names another issuer, or the
   * server's answer is refused by CORS. `url` and `phase` say which request. Nothing is
   * known to be wrong with the session: it is kept, and the next call tries again.
   */
  MISCONFIGURED: 'MISCONFIGURED',
} as const;

/** One of the stable codes above. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Which request failed: finding the token endpoint, the refresh itself, or the app's own request through `coordinator.fetch`. */
export type RequestPhase = NonNullable<TokenHerdError['phase']>;

/** Where a request failed: its URL and phase (on TRANSIENT, MISCONFIGURED and PROVIDER_ERROR errors of a request). */
export interface RequestContext {
  readonly url: string;
  readonly phase: RequestPhase;
}

/** The `url` and `phase` that `value` (an error, or a token endpoint's outcome) carries, if it carries both. */
export function requestContextOf(value: unknown): RequestContext | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { url, phase } = value as Partial<Record<keyof RequestContext, unknown>>;
  return typeof url === 'string' && (phase === 'discovery' || phase === 'token-request' || phase === 'resource-request') ? { url, phase } : undefined;
}

/**
 * The one error class of tokenherd. `code` is stable: the core's `ErrorCode` unless a
 * runtime shell passes its own set (the desktop shell's `DesktopErrorCode`), so the core
 * never needs to know those codes. With PROVIDER_ERROR and SESSION_EXPIRED after a
 * refusal, `error`, `error_description` and `status` are the provider's own answer (as
 * oauth4webapi's `ResponseBodyError` has them).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class TokenHerdError<Code extends string = ErrorCode> extends Error {
  override readonly name = 'TokenHerdError';
  readonly code: Code;
  /** The provider's OAuth `error` code (RFC 6749 §5.2): `invalid_grant`, `invalid_client`, `invalid_scope`, ... */
  readonly error?: string;
  /** The provider's `error_description`, for people: never branch on it. */
  readonly error_description?: string;
  /** The HTTP status of the provider's answer. */
  readonly status?: number;
  /** The URL of the request that failed (a request's failure only). */
  readonly url?: string;
  /** Which request failed: finding the token endpoint, the refresh itself, or the app's own request through `coordinator.fetch`. */
  readonly phase?: 'discovery' | 'token-request' | 'resource-request';

  constructor(
    code: Code,
    message: string,
    options?: {
      readonly cause?: unknown;
      readonly error?: string;
      readonly error_description?: string;
      readonly status?: number;
      readonly url?: string;
      readonly phase?: 'discovery' | 'token-request' | 'resource-request';
    },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.error !== undefined) this.error = options.error;
    if (options?.error_description !== undefined) this.error_description = options.error_description;
    if (options?.status !== undefined) this.status = options.status;
    if (options?.url !== undefined) this.url = options.url;
    if (options?.phase !== undefined) this.phase = options.phase;
  }
}

/** Whether `value` is one of the stable codes (for codes that crossed IPC or structured clone). */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCode, value);
}

/** The `code` of a tokenherd error, by value, so it also holds for errors that crossed IPC or structured clone. */
export function errorCodeOf(value: unknown): ErrorCode | undefined {
  const code = typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
  return isErrorCode(code) ? code : undefined;
}

/**
 * True for a tokenherd error (by `code`, so it also holds for cloned errors).
 * Without `code`, true for the core's codes; with `code`, true for exactly that
 * code, which may also be a runtime shell's (e.g. `DesktopErrorCode.NOT_ALLOWED`).
 * It narrows to what an error keeps by value, the provider's answer included.
 */
export function isTokenHerdError<Code extends string = ErrorCode>(
  value: unknown,
  code?: Code,
): value is Pick<TokenHerdError<Code>, 'code' | 'message' | 'error' | 'error_description' | 'status' | 'url' | 'phase'> {
  if (code === undefined) return errorCodeOf(value) !== undefined;
  return typeof value === 'object' && value !== null && (value as { code?: unknown }).code === code;
}
