import {
  ErrorCode,
  TokenHerdError,
  createCoordinatorCore,
  resolveSettings,
  type CoordinatorCore,
  type CoordinatorSettings,
} from '../shared/index.js';
import { openBroadcastChannel } from './broadcast.js';
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
  /** Allows `http://` issuer and token endpoint URLs. Development only: tokens would cross the network in clear. */
  readonly allowInsecureRequests?: boolean;
  /** IndexedDB database name. Default `tokenherd`. */
  readonly databaseName?: string;
  /** Used for token requests and by `coordinator.fetch`. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /**
   * Seals the refresh token at rest (see sealed-store.ts). In the Electron shell:
   * `sealerFromBridge(window.tokenherdDesktop)`, the OS keychain through the main
   * process. Without it, IndexedDB holds the refresh token in plaintext.
   */
  readonly sealer?: Sealer;
  readonly onSealingProblem?: SealedStoreOptions['onSealingProblem'];
}

export interface TokenCoordinator extends CoordinatorCore {
  /**
   * `fetch` with `Authorization: Bearer <access token>`. On a 401 it takes a newer
   * token (another window's, or one refresh) and retries once.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
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
  const method = client.token_endpoint_auth_method ?? 'none';
  if (!['none', 'client_secret_basic', 'client_secret_post'].includes(method)) {
    throw invalid(`client.token_endpoint_auth_method must be none, client_secret_basic or client_secret_post, got ${JSON.stringify(method)}`);
  }
  if (method !== 'none' && (typeof client.client_secret !== 'string' || client.client_secret === '')) {
    throw invalid(`client.client_secret is required by ${method}`);
  }
  const databaseName = options.databaseName ?? DEFAULT_DATABASE_NAME;
  if (typeof databaseName !== 'string' || databaseName === '') throw invalid('databaseName must be a non-empty string');
  if (typeof navigator === 'undefined' || !navigator.locks || typeof BroadcastChannel === 'undefined' || typeof indexedDB === 'undefined') {
    // Never run the refresh without the lock: that is the stampede this library exists to prevent.
    throw new TokenHerdError(
      ErrorCode.UNSUPPORTED,
      'tokenherd needs navigator.locks, BroadcastChannel and indexedDB (a secure context in a current browser or Electron)',
    );
  }
  const { sealer } = options;
  if (sealer !== undefined && (typeof sealer !== 'object' || sealer === null || typeof sealer.seal !== 'function' || typeof sealer.unseal !== 'function')) {
    throw invalid('sealer must be an object with seal and unseal functions');
  }
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);

  const core = createCoordinatorCore(settings, {
    lock: createWebLocks(navigator.locks),
    channel: openBroadcastChannel(`tokenherd:${settings.sessionKey}`),
    store: sealer
      ? createSealedStore(createIndexedDbStore(databaseName), sealer, {
          ...(options.onSealingProblem && { onSealingProblem: options.onSealingProblem }),
        })
      : createIndexedDbStore(databaseName),
    clock: { now: () => Date.now(), setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as number) },
    endpoint: createTokenEndpoint({
      issuer: options.issuer,
      ...(options.tokenEndpoint !== undefined && { tokenEndpoint: options.tokenEndpoint }),
      client,
      allowInsecureRequests: allowInsecure,
      fetch: fetchImpl,
    }),
  });

  return {
    ...core,
    async fetch(input, init) {
      const request = new Request(input, init);
      const send = (token: string): Promise<Response> => {
        const attempt = request.clone();
        attempt.headers.set('authorization', `Bearer ${token}`);
        return fetchImpl(attempt);
      };
      const token = await core.getAccessToken({ signal: request.signal });
      const response = await send(token);
      if (response.status !== 401) return response;
      await response.body?.cancel();
      // Another window may have stored a newer token already; otherwise refresh the one refused.
      const newer = await core.getAccessToken({ signal: request.signal });
      return send(newer !== token ? newer : await core.getAccessToken({ forceRefresh: true, signal: request.signal }));
    },
  };
}

export * from '../shared/index.js';
export { openBroadcastChannel } from './broadcast.js';
export { DATABASE_VERSION, DEFAULT_DATABASE_NAME, createIndexedDbStore, type TokenHerdDB } from './indexeddb-store.js';
export { createTokenEndpoint, parseRetryAfter, type OAuthClientOptions, type TokenEndpointOptions } from './token-endpoint.js';
export { createWebLocks } from './web-locks.js';
// Electron shell: sealing at rest and the token broker's window side.
export { SEALED_PREFIX, createSealedStore, type Sealer, type SealedStoreOptions } from './sealed-store.js';
export { DesktopError, answerTokenQuery, sealerFromBridge, serveTokenRequests, unwrap } from './desktop.js';
export type { BrokerAnswer, DesktopAppBridge, EmbeddedViewBridge, TokenQuery } from '../shared/ipc-contract.js';
