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
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class TokenHerdError extends Error {
  override readonly name = 'TokenHerdError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True for a tokenherd error (by `code`, so it also holds for cloned errors), optionally of one code. */
export function isTokenHerdError(value: unknown, code?: ErrorCode): value is { code: ErrorCode; message: string } {
  if (typeof value !== 'object' || value === null) return false;
  const actual = (value as { code?: unknown }).code;
  if (typeof actual !== 'string' || !Object.hasOwn(ErrorCode, actual)) return false;
  return code === undefined || actual === code;
}
