import { expect } from '@playwright/test';
import type { OAuthServer } from '../../../dev/oauth-server.js';
import { createTokenCoordinator, type Sealing, type SessionBackend, type TokenCoordinator } from '../../../src/node/index.js';
import { LEEWAY_SECONDS } from './fixtures.js';
import { burstAll, untilTime, type BurstResult, type WorkerProcess } from './processes.js';
import type { WorkerConfig } from './protocol.js';

export function workerConfig(
  oauth: { readonly issuer: string; readonly tokenEndpoint: string },
  sessionKey: string,
  backend: WorkerConfig['backend'],
  extra: Partial<WorkerConfig> = {},
): WorkerConfig {
  return {
    backend,
    sessionKey,
    issuer: oauth.issuer,
    tokenEndpoint: oauth.tokenEndpoint,
    clientId: 'tokenherd-dev',
    coordinators: 1,
    refreshLeewaySeconds: LEEWAY_SECONDS,
    ...extra,
  };
}

/** A coordinator of this process on `backend`, with the tests' leeway. */
export function coordinatorOn(
  oauth: { readonly issuer: string; readonly tokenEndpoint: string; readonly clientId: string },
  backend: SessionBackend,
  sessionKey: string,
  extra: { readonly sealing?: Sealing } = {},
): TokenCoordinator {
  return createTokenCoordinator({
    sessionKey,
    issuer: oauth.issuer,
    tokenEndpoint: oauth.tokenEndpoint,
    client: { client_id: oauth.clientId },
    allowInsecureRequests: true,
    refreshLeewaySeconds: LEEWAY_SECONDS,
    // These tests count on-demand refreshes; auto-refresh.spec.ts turns it on in its workers.
    autoRefresh: false,
    backend,
    ...extra,
  });
}

/** Signs in through a coordinator of this process, as the app's sign-in would; returns the access token's expiry. */
export async function signIn(oauth: OAuthServer, backend: SessionBackend, sessionKey: string, tokens?: Record<string, unknown>): Promise<number> {
  const coordinator = coordinatorOn(oauth, backend, sessionKey);
  try {
    await coordinator.setSession(tokens ?? (await oauth.mintSession()));
    return coordinator.getState().expiresAt!;
  } finally {
    coordinator.close();
  }
}

/**
 * Every worker's callers ask at once, just after the held token went stale; asserts
 * that the server saw exactly one refresh, every caller got the same token, and the
 * server accepts it. Returns the new token's expiry.
 */
export async function oneRefreshAtExpiry(oauth: OAuthServer, workers: readonly WorkerProcess[], callers: number, expiresAt: number): Promise<number> {
  const staleAt = expiresAt - LEEWAY_SECONDS * 1000;
  await untilTime(staleAt);
  const before = oauth.stats();
  const bursts: BurstResult[] = await burstAll(workers, callers, Math.max(Date.now() + 150, staleAt + 20));
  const results = bursts.flatMap((b) => b.results);
  expect(results.filter((r) => !r.ok)).toEqual([]);
  expect(results).toHaveLength(workers.length * callers);
  const tokens = new Set(results.map((r) => (r.ok ? r.token : '')));
  expect(tokens.size).toBe(1);
  for (const token of tokens) expect(await oauth.accessTokenValid(token)).toBe(true);
  const after = oauth.stats();
  expect(after.refreshRequests - before.refreshRequests).toBe(1);
  expect(after).toMatchObject({ grantsRevoked: 0, invalidGrant: 0 });
  return Math.max(...bursts.map((b) => b.expiresAt));
}
