import { createCoordinatorCore, herdName, type CoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import { resolveSettings, type CoordinatorSettings, type ProviderProfile } from '../shared/settings.js';
import { bearerSend, createAuthorizedFetch } from './authorized-fetch.js';
import { openSuspendableChannel } from './broadcast.js';
import { createDpop } from './dpop.js';
import { createDpopFetch } from './dpop-fetch.js';
import { DEFAULT_DATABASE_NAME, createIndexedDbStore } from './indexeddb-store.js';
import { createSealedStore, type Sealer, type SealedStoreOptions } from './sealed-store.js';
import { createTokenEndpoint, type OAuthClientOptions } from './token-endpoint.js';
import { createWebLocks } from './web-locks.js';

export interface TokenCoordinatorOptions extends CoordinatorSettings {
  /** The authorization server's issuer identifier, e.g. `https://github.com`. */
  readonly issuer: string;
  /** The token endpoint; when absent it is found by discovery from `issuer` on the first refresh. */
  readonly tokenEndpoint?: string;
  readonly client: OAuthClientOptions;
  /**
   * How the provider treats used refresh tokens (see `ProviderProfile`). `github`
   * also makes the client authenticate with `client_secret_post` by default and
   * requires `client.client_secret`, as GitHub's refresh does.
   */
  readonly profile?: ProviderProfile;
  /** Allows `http://` issuer and token endpoint URLs. Development only: tokens would cross the network in clear. */
  readonly allowInsecureRequests?: boolean;
  /** IndexedDB database name. Default `tokenherd`. */
  readonly databaseName?: string;
  /** Used for token requests and by `coordinator.fetch`. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /**
   * Used for token endpoint requests (and discovery) instead of `fetch`. In the Electron
   * shell, `relayedFetch(window.tokenherdDesktop)` has the main process send them: for a
   * provider whose token endpoint allows no CORS (GitHub's), which a page cannot use.
   */
  readonly tokenEndpointFetch?: typeof fetch;
  /**
   * Seals the refresh token at rest (see sealed-store.ts). In the Electron shell:
   * `sealerFromBridge(window.tokenherdDesktop)`, the OS keychain through the main
   * process. Without it, IndexedDB holds the refresh token in plaintext.
   */
  readonly sealer?: Sealer;
  readonly onSealingProblem?: SealedStoreOptions['onSealingProblem'];
  /**
   * DPoP (RFC 9449): tokens bound to the session's non-extractable key pair, which every
   * window reads from IndexedDB. Refreshes and `fetch` carry proofs; sign in with
   * `createDpop(...).signIn` so the code exchange is bound to a new key. See docs/dpop.md.
   */
  readonly dpop?: boolean;
}

export interface TokenCoordinator extends CoordinatorCore {
  /**
   * `fetch` with `Authorization: Bearer <access token>` (with `dpop`: `Authorization: DPoP`
   * and a proof). On a 401 it takes a newer token (another window's, or one refresh) and
   * retries once. Resolves with the response, whatever its status.
   * @throws the codes of `getAccessToken`; TRANSIENT when the request itself fails
   *   (network), ABORTED when its `signal` aborts, INVALID_OPTIONS for an invalid
   *   request; with `dpop` and no key stored, SESSION_EXPIRED (as rejections)
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
}

function listen(target: EventTarget, type: string, listener: (event: Event) => void): () => void {
  target.addEventListener(type, listener);
  return () => target.removeEventListener(type, listener);
}

interface Lifecycle {
  /** The page is hidden and may enter the back/forward cache (`pagehide` with `persisted`). */
  readonly onHide: () => void;
  /** The page became visible, was resumed from freezing, or was restored from the back/forward cache. */
  readonly onResume: () => void;
}

function watchLifecycle({ onHide, onResume }: Lifecycle): () => void {
  if (typeof document === 'undefined') return () => {};
  const stops = [
    listen(document, 'visibilitychange', () => {
      if (document.visibilityState === 'visible') onResume();
    }),
    listen(document, 'resume', onResume),
    listen(globalThis, 'pagehide', (event) => {
      if ((event as PageTransitionEvent).persisted) onHide();
    }),
    listen(globalThis, 'pageshow', (event) => {
      if ((event as PageTransitionEvent).persisted) onResume();
    }),
  ];
  return () => stops.forEach((stop) => stop());
}

function invalid(message: string): TokenHerdError {
  return new TokenHerdError(ErrorCode.INVALID_OPTIONS, message);
}

function checkUrl(name: string, value: unknown, allowInsecure: boolean): void {
  if (typeof value !== 'string' || !URL.canParse(value)) throw invalid(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
  const { protocol } = new URL(value);
  if (protocol === 'https:' || (protocol === 'http:' && allowInsecure)) return;
  throw invalid(`${name} must use https: (set allowInsecureRequests for an http: development server), got ${value}`);
}

/**
 * One coordinator per provider account and window. Windows of one storage
 * partition (same origin, same browser profile or Electron session) that use the
 * same `sessionKey` refresh once per expiry between them.
 * @throws INVALID_OPTIONS for invalid options; UNSUPPORTED without Web Locks,
 *   BroadcastChannel or IndexedDB (synchronously: it returns no promise)
 */
export function createTokenCoordinator(options: TokenCoordinatorOptions): TokenCoordinator {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const settings = resolveSettings(options);
  const allowInsecure = options.allowInsecureRequests === true;
  checkUrl('issuer', options.issuer, allowInsecure);
  if (options.tokenEndpoint !== undefined) checkUrl('tokenEndpoint', options.tokenEndpoint, allowInsecure);
  const { client } = options;
  if (typeof client !== 'object' || client === null || typeof client.client_id !== 'string' || client.client_id === '') {
    throw invalid('client.client_id must be a non-empty string');
  }
  const github = options.profile === 'github';
  const method = client.token_endpoint_auth_method ?? (github ? 'client_secret_post' : 'none');
  if (!['none', 'client_secret_basic', 'client_secret_post'].includes(method)) {
    throw invalid(`client.token_endpoint_auth_method must be none, client_secret_basic or client_secret_post, got ${JSON.stringify(method)}`);
  }
  if (method !== 'none' && (typeof client.client_secret !== 'string' || client.client_secret === '')) {
    throw invalid(`client.client_secret is required by ${method}`);
  }
  const databaseName = options.databaseName ?? DEFAULT_DATABASE_NAME;
  if (typeof databaseName !== 'string' || databaseName === '') throw invalid('databaseName must be a non-empty string');
  const { sealer } = options;
  if (sealer !== undefined && (typeof sealer !== 'object' || sealer === null || typeof sealer.seal !== 'function' || typeof sealer.unseal !== 'function')) {
    throw invalid('sealer must be an object with seal and unseal functions');
  }
  if (options.dpop !== undefined && typeof options.dpop !== 'boolean') throw invalid('dpop must be a boolean');
  for (const name of ['fetch', 'tokenEndpointFetch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw invalid(`${name} must be a function`);
  }
  if (typeof navigator === 'undefined' || !navigator.locks || typeof BroadcastChannel === 'undefined' || typeof indexedDB === 'undefined') {
    // Never run the refresh without the lock: that is the stampede this library exists to prevent.
    throw new TokenHerdError(
      ErrorCode.UNSUPPORTED,
      'tokenherd needs navigator.locks, BroadcastChannel and indexedDB (a secure context in a current browser or Electron)',
    );
  }
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const dpop = options.dpop === true ? createDpop({ sessionKey: settings.sessionKey, databaseName }) : undefined;
  const dpopSend = dpop && createDpopFetch({ dpop, fetch: fetchImpl, allowInsecureRequests: allowInsecure });

  // Another context upgraded, deleted or evicted the database: re-read (the callback runs long after `core` exists).
  const indexedDbStore = createIndexedDbStore(databaseName, { onClosedByOthers: () => void core.reload().catch(() => {}) });
  const channel = openSuspendableChannel(herdName(settings.sessionKey));
  const core = createCoordinatorCore(options, {
    lock: createWebLocks(navigator.locks),
    channel,
    store: sealer
      ? createSealedStore(indexedDbStore, sealer, { ...(options.onSealingProblem && { onSealingProblem: options.onSealingProblem }) })
      : indexedDbStore,
    clock: { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as number) },
    endpoint: createTokenEndpoint({
      issuer: options.issuer,
      ...(options.tokenEndpoint !== undefined && { tokenEndpoint: options.tokenEndpoint }),
      client: { ...client, token_endpoint_auth_method: method },
      allowInsecureRequests: allowInsecure,
      fetch: options.tokenEndpointFetch ?? fetchImpl,
      ...(dpop && { dpop }),
    }),
    network: {
      isOnline: () => navigator.onLine,
      onOnline: (listener) => listen(globalThis, 'online', listener),
    },
  });
  // Memory may be stale after the page was hidden, frozen or restored from the back/forward cache;
  // the channel is reopened before the re-read, so no announcement falls between them.
  const stopWatchingLifecycle = watchLifecycle({
    onHide: () => channel.suspend(),
    onResume: () => {
      channel.resume();
      void core.reload().catch(() => {});
    },
  });

  return {
    ...core,
    close() {
      stopWatchingLifecycle();
      core.close();
      dpop?.close();
    },
    async signOut() {
      await core.signOut();
      await dpop?.forget(); // the next sign-in starts a new key lineage
    },
    fetch: createAuthorizedFetch(
      core,
      dpopSend
        ? async (request, token) => {
            // No key: the forced refresh finds none either and ends the session in every window (SESSION_EXPIRED).
            const response =
              (await dpopSend(request, token)) ?? (await dpopSend(request, await core.getAccessToken({ forceRefresh: true, signal: request.signal })));
            if (response) return response;
            throw new TokenHerdError(ErrorCode.SESSION_EXPIRED, 'The DPoP key of this session is no longer stored: sign in again');
          }
        : bearerSend(fetchImpl),
    ),
  };
}

export type { CoordinatorCore, CoordinatorState, GetAccessTokenOptions } from '../shared/coordinator.js';
export { ErrorCode, TokenHerdError, isTokenHerdError } from '../shared/errors.js';
export type { SessionChange, TokenHerdEvent, TokenHerdListener } from '../shared/events.js';
export type { CoordinatorSettings, ProviderProfile } from '../shared/settings.js';
export { openBroadcastChannel } from './broadcast.js';
export { DATABASE_VERSION, DEFAULT_DATABASE_NAME, createIndexedDbStore, type IndexedDbStoreOptions, type TokenHerdDB } from './indexeddb-store.js';
export { createTokenEndpoint, parseRetryAfter, type OAuthClientOptions, type TokenEndpointOptions } from './token-endpoint.js';
export { createWebLocks } from './web-locks.js';
export type { Sealer, SealedStoreOptions } from './sealed-store.js';
// The ports the browser adapters above implement (see tokenherd/core), and what they carry.
export type { AbortSignalLike } from '../shared/abort.js';
export type { ChannelPort, CompareAndSetResult, LockPort, RefreshOutcome, SessionStore, TokenEndpoint } from '../shared/ports.js';
export type { RefreshInFlight, StoredSession, TokenSet } from '../shared/session.js';
export { createDpop, retryOnNonceChallenge, type Dpop, type DpopOptions, type DpopRequestOptions } from './dpop.js';
export { createDpopFetch, type DpopFetchOptions, type DpopSend } from './dpop-fetch.js';
export { createDpopKeyStore, dpopThumbprint, generateDpopKeyPair, type DpopKeyStore, type StoredDpopKey, type StoredDpopNonce } from './dpop-key-store.js';
