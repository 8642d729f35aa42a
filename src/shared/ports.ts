import type { AbortSignalLike } from './abort.js';
import type { StoredSession, Version } from './session.js';

/** Modelled on the Web Locks API: `locks.request(name, { signal, ifAvailable }, callback)`. */
export interface LockPort {
  /**
   * Runs `callback` while holding the exclusive lock `name`; the lock is released
   * when the callback's promise settles. Must reject with `signal.reason` if the
   * signal aborts before the lock is granted.
   */
  request<T>(name: string, options: { signal?: AbortSignalLike }, callback: () => Promise<T>): Promise<T>;
}

/**
 * The scheduler role of a herd (auto refresh): held by at most one window or process at a time
 * as the platform sees it, and freed when its holder closes, dies or hands it over. Holding it
 * never blocks anyone: it only decides who refreshes ahead of expiry.
 */
export interface RolePort {
  /**
   * Asks for the role `name` until `signal` aborts: `onHeld(true)` when this window gets it,
   * `onHeld(false)` when it gives it up or loses it (it may be granted again later).
   */
  hold(name: string, signal: AbortSignalLike, onHeld: (held: boolean) => void): void;
}

/** One named broadcast channel. Messages are not delivered to the sender itself. */
export interface ChannelPort {
  post(message: unknown): void;
  /** `listener` receives raw, unvalidated data: anything same-origin code posted. */
  subscribe(listener: (data: unknown) => void): () => void;
  close(): void;
}

/** A compare-and-set's outcome: written, or refused with what the store holds instead. */
export type CompareAndSetResult = { readonly ok: true } | { readonly ok: false; readonly current: StoredSession | undefined };

/** Durable storage of one record per session key. */
export interface SessionStore {
  /**
   * The stored record, or undefined when none is stored. What is stored but is not a
   * valid record either reads as undefined (IndexedDB: another app version's data) or
   * rejects with STORE_CORRUPT (a damaged file or row, which must not be overwritten).
   */
  read(sessionKey: string): Promise<StoredSession | undefined>;
  /**
   * In one atomic step: if the stored record is the `expected` version (`isVersion`: the same
   * generation and session id; generation 0 when nothing valid is stored), write `next`. Resolves
   * only after the write is durable; must reject if the write fails, and with STORE_CORRUPT rather
   * than overwrite a damaged record, where `read` reports one.
   */
  compareAndSet(sessionKey: string, expected: Version, next: StoredSession): Promise<CompareAndSetResult>;
  close(): void;
}

/** A timer of the `Clock`, opaque to the core. */
export type TimerHandle = unknown;

/** I9: the local clock, read only for durations from receipt, and its timers. */
export interface Clock {
  /** Milliseconds on the local wall clock. Only differences between readings matter. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * A provider's refusal as it answered it (RFC 6749 §5.2): kept as fields so an app can
 * tell `invalid_client` from `invalid_scope` without parsing prose.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-5.2
 */
export interface ProviderRefusal {
  /** The OAuth `error` code (`invalid_grant`, `invalid_client`, ...), or `HTTP <status>` when the body had none. */
  readonly error: string;
  readonly description?: string;
  /** The HTTP status of the answer; absent when nothing was sent (a DPoP key that is gone). */
  readonly status?: number;
}

/** What a refresh request came to. The port classifies; the coordinator decides. */
export type RefreshOutcome =
  | { readonly kind: 'tokens'; readonly response: unknown }
  /** The provider refused the refresh token itself (`invalid_grant`, GitHub's `bad_refresh_token`). */
  | ({ readonly kind: 'rejected' } & ProviderRefusal)
  /** Any other OAuth error (`invalid_client`, `invalid_scope`, ...): a configuration problem, not the token's. */
  | ({ readonly kind: 'provider-error' } & ProviderRefusal)
  /** A success status whose body is not a token response (unparseable, or not an object). */
  | { readonly kind: 'invalid-response'; readonly reason: string }
  /**
   * 5xx, 429, network failure, timeout: nothing is known to be wrong with the session.
   * `answered`: the provider itself answered, so it did not rotate the token; false
   * when the request may have been processed and its response lost (timeout, reset).
   */
  | { readonly kind: 'transient'; readonly reason: string; readonly answered: boolean; readonly retryAfterMs?: number };

/**
 * The provider's token endpoint, for the refresh_token grant.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 */
export interface TokenEndpoint {
  /** Sends one refresh_token grant. Rejects only when `signal` aborts or the network fails. */
  refresh(refreshToken: string, options: { signal: AbortSignalLike }): Promise<RefreshOutcome>;
}

/** Connectivity as the platform reports it (the browser's `onLine` flag and its `online` event). */
export interface NetworkPort {
  isOnline(): boolean;
  /** Calls `listener` when the platform comes back online; returns the unsubscribe function. */
  onOnline(listener: () => void): () => void;
}
