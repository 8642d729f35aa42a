/**
 * Type-level test of the public API: `tsc -p test/types` fails if a documented
 * name, signature, event or error code changes, or if a name removed from the
 * surface (CHANGELOG.md) is exported again. Nothing here runs. The Node entry's
 * test is node-api.ts, compiled against the packed tarball without pg or @types/pg.
 */
import type { completeSignIn, signInWithPopup, signInWithRedirect, signInWithUserAgent } from 'tokenherd';
import {
  DEFAULT_DATABASE_NAME,
  createDpop,
  createTokenCoordinator,
  isTokenHerdError,
  retryOnNonceChallenge,
  type DpopSignIn,
  type SignInOptions,
  sealWith,
  type Dpop,
  type DpopRequestOptions,
  type CoordinatorState,
  type ErrorCode,
  type GetAccessTokenOptions,
  type OAuthClientOptions,
  type ProviderProfile,
  type Sealer,
  type Sealing,
  type SessionChange,
  type TokenCoordinator,
  type TokenCoordinatorOptions,
  type TokenHerdError,
  type TokenHerdEvent,
} from 'tokenherd';
import type * as App from 'tokenherd';
import {
  createCoordinatorCore,
  herdName,
  isStoredSession,
  isVersion,
  resolveSettings,
  type CompareAndSetResult,
  type CoordinatorPorts,
  type SessionStore,
  type StoredSession,
  type Version,
} from 'tokenherd/core';
import type * as Core from 'tokenherd/core';
import {
  relayedFetch,
  sealerFromBridge,
  serveTokenRequests,
  type BrokerAnswer,
  type DesktopAppBridge,
  type DesktopErrorCode,
  type IpcErrorCode,
  type TokenQuery,
} from 'tokenherd/desktop';
import type * as Desktop from 'tokenherd/desktop';
import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryProvider, createMemoryStore } from 'tokenherd/testing';
import type * as Testing from 'tokenherd/testing';

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

export type Checks = [
  Expect<
    Equal<
      ErrorCode,
      | 'NOT_SIGNED_IN'
      | 'SESSION_EXPIRED'
      | 'TRANSIENT'
      | 'LOCK_TIMEOUT'
      | 'PROVIDER_ERROR'
      | 'INVALID_TOKEN_RESPONSE'
      | 'INVALID_OPTIONS'
      | 'ABORTED'
      | 'SEALING_UNAVAILABLE'
      | 'UNSEAL_FAILED'
      | 'UNSUPPORTED'
      | 'STORE_CORRUPT'
      | 'CLOSED'
      | 'CANNOT_REFRESH'
      | 'SIGN_IN_CANCELLED'
      | 'SIGN_IN_FAILED'
      | 'MISCONFIGURED'
    >
  >,
  Expect<Equal<TokenHerdError['phase'], 'discovery' | 'token-request' | 'resource-request' | undefined>>,
  Expect<Equal<TokenHerdError['url'], string | undefined>>,
  Expect<
    Equal<
      DesktopErrorCode,
      'UNTRUSTED_SENDER' | 'INVALID_PAYLOAD' | 'INVALID_RESPONSE' | 'NOT_ALLOWED' | 'UNKNOWN_PROVIDER' | 'BROKER_TIMEOUT' | 'INTERNAL'
    >
  >,
  Expect<Equal<TokenHerdEvent['type'], 'session-changed' | 'leeway-exceeds-lifetime' | 'lock-acquired' | 'lock-released' | 'refresh-started' | 'refresh-succeeded' | 'refresh-failed'>>,
  Expect<Equal<SessionChange, 'signed-in' | 'rotated' | 'adopted' | 'signed-out' | 'expired'>>,
  Expect<Equal<Extract<TokenHerdEvent, { type: 'refresh-failed' }>['code'], ErrorCode>>,
  Expect<Equal<ReturnType<TokenCoordinator['getAccessToken']>, Promise<string>>>,
  Expect<Equal<Parameters<TokenCoordinator['getAccessToken']>, [options?: GetAccessTokenOptions | undefined]>>,
  Expect<Equal<keyof GetAccessTokenOptions, 'minValiditySeconds' | 'forceRefresh' | 'signal'>>,
  Expect<Equal<Parameters<TokenCoordinator['fetch']>, [input: RequestInfo | URL, init?: RequestInit | undefined]>>,
  Expect<Equal<ReturnType<TokenCoordinator['fetch']>, Promise<Response>>>,
  Expect<Equal<Parameters<TokenCoordinator['setSession']>, [tokenResponse: unknown]>>,
  Expect<Equal<ReturnType<TokenCoordinator['signOut']>, Promise<void>>>,
  Expect<Equal<ReturnType<TokenCoordinator['subscribe']>, () => void>>,
  Expect<Equal<ReturnType<TokenCoordinator['close']>, void>>,
  Expect<Equal<CoordinatorState['status'], 'unknown' | 'signed-in' | 'signed-out'>>,
  Expect<Equal<CoordinatorState['holdsRole'], boolean>>,
  Expect<Equal<TokenCoordinatorOptions['autoRefresh'], boolean | undefined>>,
  Expect<Equal<Parameters<Core.RolePort['hold']>, [name: string, signal: Core.AbortSignalLike, onHeld: (held: boolean) => void]>>,
  Expect<Equal<TokenCoordinatorOptions['sessionKey'], string>>,
  Expect<Equal<TokenCoordinatorOptions['tokenEndpointFetch'], typeof fetch | undefined>>,
  Expect<Equal<TokenCoordinatorOptions['dpop'], Dpop | undefined>>,
  Expect<Equal<Parameters<Dpop['signIn']>, [exchange: (options: DpopRequestOptions) => Promise<unknown>, setSession: (tokenResponse: unknown) => Promise<void>]>>,
  Expect<Equal<Awaited<ReturnType<SessionStore['compareAndSet']>>, CompareAndSetResult>>,
  Expect<Equal<TokenCoordinatorOptions['client'], OAuthClientOptions>>,
  Expect<Equal<TokenCoordinatorOptions['profile'], ProviderProfile | undefined>>,
  Expect<Equal<TokenCoordinatorOptions['sealing'], Sealing | undefined>>,
  Expect<Equal<Parameters<typeof sealWith>[0], Sealer>>,
  Expect<Equal<ReturnType<typeof sealWith>, Sealing>>,
  Expect<Equal<Parameters<typeof createDpop>[0]['databaseName'], string>>,
  Expect<Equal<typeof DEFAULT_DATABASE_NAME, 'tokenherd'>>,
  // The sign-in helpers: one options object for all; DPoP binding by a parameter that a `Dpop` satisfies.
  Expect<Equal<Parameters<typeof signInWithRedirect>, [options: SignInOptions]>>,
  Expect<Equal<ReturnType<typeof completeSignIn>, Promise<boolean>>>,
  Expect<Equal<Parameters<typeof signInWithUserAgent>, [options: SignInOptions, open: (authorizationUrl: string) => Promise<string>]>>,
  Expect<Equal<ReturnType<typeof signInWithPopup>, Promise<void>>>,
  Expect<Dpop extends DpopSignIn ? true : false>,
  Expect<TokenCoordinator extends SignInOptions['coordinator'] ? true : false>,
  // An adapter's records: what a store reads back is checked with the core's validator.
  Expect<Equal<Parameters<SessionStore['compareAndSet']>[2], StoredSession>>,
  Expect<Equal<ReturnType<typeof herdName>, string>>,
  // The desktop bridge: the broker's question and the only answers a window can give.
  Expect<Equal<Parameters<Parameters<DesktopAppBridge['serveTokenRequests']>[1]>, [query: TokenQuery]>>,
  Expect<Equal<IpcErrorCode, ErrorCode | DesktopErrorCode>>,
  Expect<Equal<BrokerAnswer, { readonly ok: true; readonly accessToken: string } | { readonly ok: false; readonly code: IpcErrorCode; readonly message: string }>>,
  // Every runtime export of each entry, exactly: a value added or removed fails here.
  Expect<
    Equal<
      keyof typeof App,
      | 'createTokenCoordinator'
      | 'createDpop'
      | 'sealWith'
      | 'retryOnNonceChallenge'
      | 'DEFAULT_DATABASE_NAME'
      | 'signInWithRedirect'
      | 'completeSignIn'
      | 'signInWithPopup'
      | 'signInWithUserAgent'
      | 'ErrorCode'
      | 'TokenHerdError'
      | 'isTokenHerdError'
    >
  >,
  Expect<Equal<keyof typeof Core, 'createCoordinatorCore' | 'resolveSettings' | 'herdName' | 'isStoredSession' | 'isVersion' | 'versionOf' | 'ErrorCode' | 'TokenHerdError' | 'isTokenHerdError'>>,
  Expect<Equal<keyof typeof Desktop, 'relayedFetch' | 'sealerFromBridge' | 'serveTokenRequests' | 'signInWithSystemBrowser' | 'userAgentFromBridge' | 'ErrorCode' | 'DesktopErrorCode'>>,
  Expect<Equal<Parameters<typeof Desktop.signInWithSystemBrowser>, [deps: Desktop.SystemBrowserDeps, options: Desktop.SystemBrowserSignInOptions]>>,
  Expect<Equal<ReturnType<typeof Desktop.signInWithSystemBrowser>, Promise<string>>>,
  // What the window passes to signInWithUserAgent.
  Expect<Equal<ReturnType<typeof Desktop.userAgentFromBridge>, Parameters<typeof App.signInWithUserAgent>[1]>>,
  Expect<Equal<keyof typeof Testing, 'createManualClock' | 'createMemoryChannelHub' | 'createMemoryLocks' | 'createMemoryProvider' | 'createMemoryStore'>>,
];

// Types removed from the surface (CHANGELOG.md): each line stops compiling if its name is exported again.
export type Removed = [
  // @ts-expect-error the browser adapters' types: the coordinator builds its adapters itself
  App.IndexedDbStoreOptions,
  // @ts-expect-error removed, as above
  App.TokenHerdDB,
  // @ts-expect-error removed, as above
  App.TokenEndpointOptions,
  // @ts-expect-error the DPoP key store and proof-carrying fetch are the coordinator's
  App.DpopKeyStore,
  // @ts-expect-error removed, as above
  App.StoredDpopNonce,
  // @ts-expect-error removed, as above
  App.DpopFetchOptions,
  // @ts-expect-error removed, as above
  App.DpopSend,
  // @ts-expect-error the ports and records are an adapter author's: tokenherd/core
  App.LockPort,
  // @ts-expect-error removed, as above
  App.ChannelPort,
  // @ts-expect-error removed, as above
  App.SessionStore,
  // @ts-expect-error removed, as above
  App.CompareAndSetResult,
  // @ts-expect-error removed, as above
  App.TokenEndpoint,
  // @ts-expect-error removed, as above
  App.RefreshOutcome,
  // @ts-expect-error removed, as above
  App.StoredSession,
  // @ts-expect-error removed, as above
  App.TokenSet,
  // @ts-expect-error removed, as above
  App.RefreshInFlight,
  // @ts-expect-error the decision table's types: the core's own, free to change
  Core.Need,
  // @ts-expect-error removed, as above
  Core.Sent,
  // @ts-expect-error removed, as above
  Core.Situation,
  // @ts-expect-error removed, as above
  Core.Vantage,
  // @ts-expect-error removed, as above
  Core.Verdict,
  // @ts-expect-error removed, as above
  Core.Decision,
  // @ts-expect-error removed, as above
  Core.DecisionAt<'memory'>,
  // @ts-expect-error removed, as above
  Core.Recovery,
  // @ts-expect-error the channel's messages are the core's own
  Core.SessionChangedMessage,
  // @ts-expect-error removed, as above
  Core.ActiveSession,
  // @ts-expect-error a desktop window gets its coordinator's store from tokenherd; no store types here
  Desktop.SessionStore,
  // @ts-expect-error removed, as above
  Desktop.CompareAndSetResult,
  // @ts-expect-error removed, as above
  Desktop.StoredSession,
  // @ts-expect-error removed, as above
  Desktop.TokenSet,
  // @ts-expect-error removed, as above
  Desktop.RefreshInFlight,
  // @ts-expect-error removed, as above
  Desktop.SealedStoreOptions,
  // @ts-expect-error the IPC contract's internals stay with the main process and the preloads
  Desktop.IpcContract,
];

// Required options are required.
// @ts-expect-error sessionKey is missing
createTokenCoordinator({ issuer: 'https://issuer.example', client: { client_id: 'app' } });
// @ts-expect-error client is missing
createTokenCoordinator({ sessionKey: 'k', issuer: 'https://issuer.example' });
// @ts-expect-error an unknown client authentication method
createTokenCoordinator({ sessionKey: 'k', issuer: 'https://issuer.example', client: { client_id: 'app', token_endpoint_auth_method: 'private_key_jwt' } });

// Error guards narrow by code, so they also work on errors that crossed IPC or structured clone.
export function narrows(error: unknown): ErrorCode | undefined {
  return isTokenHerdError(error) ? error.code : undefined;
}

// A provider's refusal is read from fields, never from the message.
export function refusalOf(error: unknown): [string | undefined, string | undefined, number | undefined] | undefined {
  return isTokenHerdError(error, 'PROVIDER_ERROR') ? [error.error, error.error_description, error.status] : undefined;
}

// A request that cannot work as configured names its URL and phase in fields.
export function misconfiguredRequestOf(error: unknown): [string | undefined, 'discovery' | 'token-request' | 'resource-request' | undefined] | undefined {
  return isTokenHerdError(error, 'MISCONFIGURED') ? [error.url, error.phase] : undefined;
}

// A CORS-less token endpoint (GitHub's) through the Electron main process: the window holds no client secret.
export function throughMainProcess(bridge: DesktopAppBridge): TokenCoordinator {
  return createTokenCoordinator({
    sessionKey: 'github',
    issuer: 'https://github.com',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    profile: 'github',
    client: { client_id: 'Iv1.app', token_endpoint_auth_method: 'none' },
    tokenEndpointFetch: relayedFetch(bridge),
  });
}

// The desktop window's side: sealing through the main process's keychain, and answering its token broker.
export function desktopWindow(bridge: DesktopAppBridge): () => void {
  const sealer: Sealer = sealerFromBridge(bridge);
  const coordinator = createTokenCoordinator({ sessionKey: 'github', issuer: 'https://github.com', client: { client_id: 'Iv1.app' }, sealing: sealWith(sealer) });
  return serveTokenRequests(bridge, 'github', coordinator);
}

// The core composes with any ports.
export function customCore(ports: Omit<CoordinatorPorts, 'lock'>) {
  return createCoordinatorCore(resolveSettings({ sessionKey: 'k' }), { ...ports, lock: createMemoryLocks() });
}

// A new store adapter: what it reads back is a record only if the core's validator says so.
export function mapStore(): SessionStore {
  const records = new Map<string, unknown>();
  const read = (sessionKey: string): StoredSession | undefined => {
    const value = records.get(sessionKey);
    return isStoredSession(value) ? value : undefined;
  };
  return {
    read: async (sessionKey) => read(sessionKey),
    async compareAndSet(sessionKey, expected: Version, next): Promise<CompareAndSetResult> {
      const current = read(sessionKey);
      if (!isVersion(current, expected)) return { ok: false, current };
      records.set(sessionKey, next);
      return { ok: true };
    },
    close: () => records.clear(),
  };
}

// The in-memory ports make a whole core for a test, without a browser.
export function coreForTests() {
  const clock = createManualClock();
  const provider = createMemoryProvider({ clock });
  return createCoordinatorCore(
    resolveSettings({ sessionKey: 'k' }),
    {
      lock: createMemoryLocks(),
      channel: createMemoryChannelHub().open(herdName('k')),
      store: createMemoryStore(),
      clock,
      endpoint: provider.endpoint,
      network: { isOnline: () => true, onOnline: () => () => {} },
    },
  );
}

// DPoP: a sign-in bound to a new key, then the coordinator's refreshes and fetches carry proofs of it.
export async function dpopSignIn(exchange: (options: DpopRequestOptions) => Promise<unknown>): Promise<TokenCoordinator> {
  const dpop: Dpop = createDpop({ sessionKey: 'acme', databaseName: DEFAULT_DATABASE_NAME });
  const coordinator = createTokenCoordinator({ sessionKey: 'acme', issuer: 'https://issuer.example', client: { client_id: 'app' }, dpop });
  await dpop.signIn((options) => retryOnNonceChallenge(() => exchange(options)), (response) => coordinator.setSession(response));
  return coordinator;
}
