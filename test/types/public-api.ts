/**
 * Type-level test of the public API: `tsc -p test/types` fails if a documented
 * name, signature, event or error code changes. Nothing here runs.
 */
import {
  createDpop,
  createTokenCoordinator,
  isTokenHerdError,
  retryOnNonceChallenge,
  type Dpop,
  type DpopRequestOptions,
  type CoordinatorState,
  type ErrorCode,
  type GetAccessTokenOptions,
  type OAuthClientOptions,
  type ProviderProfile,
  type Sealer,
  type SessionChange,
  type TokenCoordinator,
  type TokenCoordinatorOptions,
  type TokenHerdEvent,
} from 'tokenherd';
import {
  createCoordinatorCore,
  resolveSettings,
  decide,
  judge,
  type CompareAndSetResult,
  type CoordinatorPorts,
  type Decision,
  type Need,
  type ResolvedSettings,
  type Sent,
  type SessionStore,
  type Situation,
  type Verdict,
} from 'tokenherd/core';
import {
  answerTokenQuery,
  createSealedStore,
  relayedFetch,
  sealerFromBridge,
  serveTokenRequests,
  type BrokerAnswer,
  type DesktopAppBridge,
  type DesktopErrorCode,
} from 'tokenherd/desktop';
import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryProvider, createMemoryStore } from 'tokenherd/testing';

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
    >
  >,
  Expect<
    Equal<
      DesktopErrorCode,
      'UNTRUSTED_SENDER' | 'INVALID_PAYLOAD' | 'INVALID_RESPONSE' | 'NOT_ALLOWED' | 'UNKNOWN_PROVIDER' | 'BROKER_TIMEOUT' | 'SIGN_IN_CANCELLED' | 'INTERNAL'
    >
  >,
  Expect<Equal<TokenHerdEvent['type'], 'session-changed' | 'lock-acquired' | 'lock-released' | 'refresh-started' | 'refresh-succeeded' | 'refresh-failed'>>,
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
  Expect<Equal<TokenCoordinatorOptions['sessionKey'], string>>,
  Expect<Equal<TokenCoordinatorOptions['tokenEndpointFetch'], typeof fetch | undefined>>,
  Expect<Equal<TokenCoordinatorOptions['dpop'], boolean | undefined>>,
  Expect<Equal<Parameters<Dpop['signIn']>, [exchange: (options: DpopRequestOptions) => Promise<unknown>, setSession: (tokenResponse: unknown) => Promise<void>]>>,
  Expect<Equal<Awaited<ReturnType<SessionStore['compareAndSet']>>, CompareAndSetResult>>,
  Expect<Equal<TokenCoordinatorOptions['client'], OAuthClientOptions>>,
  Expect<Equal<TokenCoordinatorOptions['profile'], ProviderProfile | undefined>>,
  Expect<Equal<TokenCoordinatorOptions['sealer'], Sealer | undefined>>,
  // The decision table: one situation in, one decision out.
  Expect<Equal<Parameters<typeof decide>[0]['need'], Need>>,
  Expect<Equal<Decision['do'], 'use' | 'read' | 'lock' | 'refresh' | 'expire' | 'fail'>>,
  Expect<Equal<ReturnType<typeof decide<'memory'>>, Extract<Decision, { do: 'use' | 'read' }>>>,
  Expect<Equal<Verdict['do'], 'store' | 'expire' | 'retry' | 'fail'>>,
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
export function desktopWindow(bridge: DesktopAppBridge, store: SessionStore): () => void {
  const coordinator = createTokenCoordinator({
    sessionKey: 'github',
    issuer: 'https://github.com',
    client: { client_id: 'Iv1.app' },
    sealer: sealerFromBridge(bridge),
  });
  const sealed: SessionStore = createSealedStore(store, sealerFromBridge(bridge));
  sealed.close();
  return serveTokenRequests(bridge, 'github', coordinator);
}

// The core composes with any ports.
export function customCore(ports: Omit<CoordinatorPorts, 'lock'>) {
  return createCoordinatorCore(resolveSettings({ sessionKey: 'k' }), { ...ports, lock: createMemoryLocks() });
}

// The in-memory ports make a whole core for a test, without a browser.
export function coreForTests() {
  const clock = createManualClock();
  const provider = createMemoryProvider({ clock });
  return createCoordinatorCore(
    resolveSettings({ sessionKey: 'k' }),
    {
      lock: createMemoryLocks(),
      channel: createMemoryChannelHub().open('tokenherd:k'),
      store: createMemoryStore(),
      clock,
      endpoint: provider.endpoint,
      network: { isOnline: () => true, onOnline: () => () => {} },
    },
  );
}

// The decision table is a pure function: a caller with nothing stored, seen from memory, reads the store.
export function firstLook(situation: Situation<'memory'>): 'use' | 'read' {
  return decide(situation).do;
}

// A provider that refused the refresh token: the verdict is one of the table's rows.
export function onRefused(sent: Sent, settings: Pick<ResolvedSettings, 'profile' | 'retry'>): Verdict['do'] {
  return judge({ kind: 'rejected', error: 'invalid_grant' }, sent, settings, 0.5).do;
}

// The broker's answer carries an access token or a code, nothing else.
export function answerBroker(coordinator: TokenCoordinator): Promise<BrokerAnswer> {
  return answerTokenQuery(coordinator, { minValiditySeconds: 60 });
}

// DPoP: a sign-in bound to a new key, then the coordinator's refreshes and fetches carry proofs of it.
export async function dpopSignIn(exchange: (options: DpopRequestOptions) => Promise<unknown>): Promise<TokenCoordinator> {
  const coordinator = createTokenCoordinator({ sessionKey: 'acme', issuer: 'https://issuer.example', client: { client_id: 'app' }, dpop: true });
  const dpop = createDpop({ sessionKey: 'acme', databaseName: 'tokenherd' });
  await dpop.signIn((options) => retryOnNonceChallenge(() => exchange(options)), (response) => coordinator.setSession(response));
  return coordinator;
}
