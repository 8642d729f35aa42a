import { createCoordinatorCore, herdName, type CoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import { invalidOption } from '../shared/settings.js';
import { bearerSend, createAuthorizedFetch } from '../oauth/authorized-fetch.js';
import { checkProviderOptions, providerPorts, type ProviderOptions } from '../oauth/provider-options.js';
import { openSuspendableChannel } from './broadcast.js';
import type { Dpop } from './dpop.js';
import { DEFAULT_DATABASE_NAME, createIndexedDbStore } from './indexeddb-store.js';
import { createWebLockRole, listen } from './web-lock-role.js';
import { createWebLocks } from './web-locks.js';

export interface TokenCoordinatorOptions extends ProviderOptions {
  /** IndexedDB database name. Default `tokenherd`. */
  readonly databaseName?: string;
  /**
   * DPoP (RFC 9449): `createDpop({ sessionKey, databaseName })`, the session's non-extractable
   * key pair, which every window reads from IndexedDB. Refreshes and `fetch` carry proofs; sign
   * in with the same object's `signIn` so the code exchange is bound to a new key. The coordinator
   * closes it with itself. Without it no DPoP code is bundled. See docs/dpop.md.
   */
  readonly dpop?: Dpop;
}

export interface TokenCoordinator extends CoordinatorCore {
  /**
   * `fetch` with `Authorization: Bearer <access token>` (with `dpop`: `Authorization: DPoP`
   * and a proof). On a 401 it takes a newer token (another window's, or one refresh) and
   * retries once. Resolves with the response, whatever its status.
   * @throws the codes of `getAccessToken`; TRANSIENT when the request itself fails
   *   (network; MISCONFIGURED for an unknown host), with its `url` and `phase`, ABORTED when its `signal` aborts, INVALID_OPTIONS for an invalid
   *   request; with `dpop` and no key stored, SESSION_EXPIRED (as rejections)
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
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

/**
 * One coordinator per provider account and window. Windows of one storage
 * partition (same origin, same browser profile or Electron session) that use the
 * same `sessionKey` refresh once per expiry between them.
 * @throws INVALID_OPTIONS for invalid options; UNSUPPORTED without Web Locks,
 *   BroadcastChannel or IndexedDB (synchronously: it returns no promise)
 */
export function createTokenCoordinator(options: TokenCoordinatorOptions): TokenCoordinator {
  const checked = checkProviderOptions(options);
  const { settings, endpoint, fetchImpl } = checked;
  const databaseName = options.databaseName ?? DEFAULT_DATABASE_NAME;
  if (typeof databaseName !== 'string' || databaseName === '') throw invalidOption('databaseName must be a non-empty string');
  const { dpop } = options;
  if (dpop !== undefined && (typeof dpop !== 'object' || dpop === null || typeof dpop.tokenRequest !== 'function' || typeof dpop.resourceSender !== 'function')) {
    // `dpop: true`, the spelling before 0.2, made every coordinator carry the DPoP code.
    throw invalidOption('dpop must come from createDpop({ sessionKey, databaseName })');
  }
  if (dpop && (dpop.sessionKey !== settings.sessionKey || dpop.databaseName !== databaseName)) {
    throw invalidOption(`dpop was made for session ${JSON.stringify(dpop.sessionKey)} in database ${JSON.stringify(dpop.databaseName)}, not this coordinator's`);
  }
  if (typeof navigator === 'undefined' || !navigator.locks || typeof BroadcastChannel === 'undefined' || typeof indexedDB === 'undefined') {
    // Never run the refresh without the lock: that is the stampede this library exists to prevent.
    throw new TokenHerdError(
      ErrorCode.UNSUPPORTED,
      'tokenherd needs navigator.locks, BroadcastChannel and indexedDB (a secure context in a current browser or Electron)',
    );
  }
  const dpopSend = dpop?.resourceSender({ fetch: fetchImpl, allowInsecureRequests: endpoint.allowInsecureRequests === true });

  // Another context upgraded, deleted or evicted the database: re-read (the callback runs long after `core` exists).
  const indexedDbStore = createIndexedDbStore(databaseName, { onClosedByOthers: () => void core.reload().catch(() => {}) });
  const channel = openSuspendableChannel(herdName(settings.sessionKey));
  const core = createCoordinatorCore(settings, {
    lock: createWebLocks(navigator.locks),
    channel,
    ...(settings.autoRefresh && { role: createWebLockRole(navigator.locks, typeof document === 'undefined' ? undefined : document) }),
    ...providerPorts(checked, indexedDbStore, { ...(dpop && { dpop }) }),
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
      fetchImpl,
    ),
  };
}

// What an app calls and names: the coordinator, its options and the types they name, events, errors, and a
// sign-in with DPoP. The adapters the coordinator builds itself (Web Locks, BroadcastChannel, IndexedDB, token
// endpoint, the DPoP key store and proof-carrying fetch) are not exported: the coordinator is their only user.
export * from '../oauth/coordinator-api.js';
// `createDpop` needs the coordinator's database: `databaseName`, or this default.
export { DEFAULT_DATABASE_NAME } from './indexeddb-store.js';
export { createDpop, type Dpop, type DpopOptions } from './dpop.js';
export { retryOnNonceChallenge } from '../oauth/dpop-nonce.js';
export type { DpopProofSource, DpopRequestOptions } from '../oauth/token-endpoint.js';
export type { StoredDpopKey } from './dpop-key-store.js';
// The authorization code + PKCE sign-in, by redirect, popup or an app-opened user agent; DPoP binding is a parameter.
export { completeSignIn, signInWithPopup, signInWithRedirect, signInWithUserAgent, type DpopSignIn, type SignInOptions } from './sign-in.js';
