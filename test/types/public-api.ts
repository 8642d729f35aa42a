/**
 * Type-level test of the public API: `tsc -p test/types` fails if a documented
 * name, signature, event or error code changes. Nothing here runs.
 */
import type {
  ErrorCode} from 'tokenherd';
import {
  createTokenCoordinator,
  isTokenHerdError,
  relayedFetch,
  type DesktopAppBridge,
  type CoordinatorState,
  type GetAccessTokenOptions,
  type SessionChange,
  type TokenCoordinator,
  type TokenCoordinatorOptions,
  type TokenHerdEvent,
} from 'tokenherd';
import { createCoordinatorCore, createMemoryLocks, type CompareAndSetResult, type CoordinatorPorts, type SessionStore } from 'tokenherd/core';

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
      | 'UNSUPPORTED'
      | 'STORE_CORRUPT'
      | 'CLOSED'
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
  Expect<Equal<Awaited<ReturnType<SessionStore['compareAndSet']>>, CompareAndSetResult>>,
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

// The core composes with any ports.
export function customCore(ports: Omit<CoordinatorPorts, 'lock'>) {
  return createCoordinatorCore({ sessionKey: 'k' }, { ...ports, lock: createMemoryLocks() });
}
