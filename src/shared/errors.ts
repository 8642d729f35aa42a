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

  // The desktop shell's process boundary (src/main, src/preload; see docs/electron.md).
  /** The sender is not a WebContents (or frame) that the main process trusts for this channel. */
  UNTRUSTED_SENDER: 'UNTRUSTED_SENDER',
  /** An IPC request does not have the channel's exact shape. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** The other side of IPC, or the relayed token endpoint, answered something malformed. */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  /** The sender's origin is not on the provider's allowlist, or the request is outside what the channel allows. */
  NOT_ALLOWED: 'NOT_ALLOWED',
  /** No provider of that id is configured. */
  UNKNOWN_PROVIDER: 'UNKNOWN_PROVIDER',
  /** The OS keychain cannot seal or unseal (no keyring, or Linux's plaintext `basic_text` backend). */
  SEALING_UNAVAILABLE: 'SEALING_UNAVAILABLE',
  /** The keychain could not decrypt the value: sealed under another key (another user or machine). */
  UNSEAL_FAILED: 'UNSEAL_FAILED',
  /** No app window answered the main process's token request in time (transient). */
  BROKER_TIMEOUT: 'BROKER_TIMEOUT',
  /** The sign-in window was closed before the provider redirected back. */
  SIGN_IN_CANCELLED: 'SIGN_IN_CANCELLED',
  /** A main-process handler failed unexpectedly; the detail stays in the main process's log. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the stable codes above. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What a provider said when it refused a request, kept on the error as it was answered. */
export interface ProviderAnswer {
  /** The OAuth `error` code of the answer (RFC 6749 §5.2), e.g. `invalid_grant`, `invalid_client`, `invalid_scope`. */
  readonly error?: string;
  /** The answer's `error_description`, for people: never branch on it. */
  readonly error_description?: string;
  /** The answer's HTTP status. */
  readonly status?: number;
}

/**
 * The one error class of tokenherd. `code` is stable; with PROVIDER_ERROR and
 * SESSION_EXPIRED after a refusal, `error`, `error_description` and `status` are
 * the provider's own answer (as oauth4webapi's `ResponseBodyError` has them).
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export class TokenHerdError extends Error implements ProviderAnswer {
  override readonly name = 'TokenHerdError';
  readonly code: ErrorCode;
  readonly error?: string;
  readonly error_description?: string;
  readonly status?: number;

  constructor(code: ErrorCode, message: string, options?: { readonly cause?: unknown } & ProviderAnswer) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options?.error !== undefined) this.error = options.error;
    if (options?.error_description !== undefined) this.error_description = options.error_description;
    if (options?.status !== undefined) this.status = options.status;
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

/** True for a tokenherd error (by `code`, so it also holds for cloned errors), optionally of one code. */
export function isTokenHerdError(value: unknown, code?: ErrorCode): value is { code: ErrorCode; message: string } {
  const actual = errorCodeOf(value);
  return actual !== undefined && (code === undefined || actual === code);
}
