/**
 * Issue 15 on Node: with autoRefresh, one replica per backend holds the scheduler role and
 * refreshes ahead of expiry. The replica holding it is killed with SIGKILL (no cleanup):
 * another refreshes before the token it left expires, and every rotation costs one request.
 */
import type { OAuthServer } from '../../dev/oauth-server.js';
import { createFileBackend, createPostgresBackend, type SessionBackend } from '../../src/node/index.js';
import { expect, test } from './support/fixtures.js';
import { burstAll, startWorkers, type WorkerProcess } from './support/processes.js';
import type { WorkerConfig } from './support/protocol.js';
import { signIn, workerConfig } from './support/scenario.js';

/** The one worker that reports holding the role, once exactly one does. */
async function holderOf(workers: readonly WorkerProcess[]): Promise<WorkerProcess> {
  await expect.poll(() => workers.filter((w) => w.holdsRole()).length, { timeout: 15_000 }).toBe(1);
  return workers.find((w) => w.holdsRole())!;
}

/** Every survivor answers from the token it holds; returns that token's expiry. */
async function sharedExpiry(oauth: OAuthServer, workers: readonly WorkerProcess[]): Promise<number> {
  const bursts = await burstAll(workers, 2);
  const results = bursts.flatMap((b) => b.results);
  expect(results.filter((r) => !r.ok)).toEqual([]);
  const tokens = new Set(results.map((r) => (r.ok ? r.token : '')));
  expect(tokens.size).toBe(1);
  expect(await oauth.accessTokenValid([...tokens][0]!)).toBe(true);
  return Math.max(...bursts.map((b) => b.expiresAt));
}

async function killTheScheduler(oauth: OAuthServer, signInBackend: SessionBackend, sessionKey: string, backend: WorkerConfig['backend']): Promise<void> {
  await signIn(oauth, signInBackend, sessionKey);
  await signInBackend.close();
  const workers = await startWorkers(4, workerConfig(oauth, sessionKey, backend, { autoRefresh: true, coordinators: 2 }));
  try {
    const holder = await holderOf(workers);
    // A first rotation by the schedule, then the holder dies between two refreshes.
    await expect.poll(() => oauth.stats().refreshSucceeded, { timeout: 15_000 }).toBe(1);
    await holder.kill();
    const survivors = workers.filter((w) => w !== holder);
    const expiresAt = await sharedExpiry(oauth, survivors);
    const refreshedAt = await Promise.race(survivors.map((w) => w.nextRefreshStarted().then(() => Date.now())));
    expect(refreshedAt, 'the next refresh started before the token the dead holder left expired').toBeLessThan(expiresAt);
    await expect.poll(() => oauth.stats().refreshSucceeded, { timeout: 15_000 }).toBe(4);
    await holderOf(survivors);
    const after = await sharedExpiry(oauth, survivors);
    expect(after).toBeGreaterThan(Date.now());
    // One request per rotation: no token sent twice (a second send would be invalid_grant and revoke the grant).
    const stats = oauth.stats();
    expect(stats).toMatchObject({ refreshRequests: stats.refreshSucceeded, invalidGrant: 0, grantsRevoked: 0, maxConcurrentRefreshes: 1 });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

test('PostgreSQL: 4 replicas, the scheduler replica SIGKILLed: another refreshes before the next expiry, one request per expiry', async ({ oauth, pool, postgres, sessionKey }) => {
  await killTheScheduler(oauth, createPostgresBackend({ pool }), sessionKey, { kind: 'postgres', url: postgres.url });
});

test('files: 4 processes, the scheduler process SIGKILLed: another refreshes before the next expiry, one request per expiry', async ({ oauth, directory, sessionKey }) => {
  await killTheScheduler(oauth, createFileBackend({ directory }), sessionKey, { kind: 'file', directory });
});
