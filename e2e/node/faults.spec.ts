import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Pool } from 'pg';
import { startGateway } from '../../dev/gateway.js';
import type { RefreshRequestInfo } from '../../dev/oauth-server.js';
import type { SessionBackend } from '../../src/node/backend.js';
import { createFileBackend, type FileBackend } from '../../src/node/file-backend.js';
import { createTokenCoordinator } from '../../src/node/index.js';
import { createPostgresBackend } from '../../src/node/postgres-backend.js';
import { identityOf, parseTokenResponse, versionOf } from '../../src/shared/session.js';
import { LEEWAY_SECONDS, expect, test } from './support/fixtures.js';
import { startWorkers, untilTime, type BurstResult, type WorkerProcess } from './support/processes.js';
import type { WorkerConfig } from './support/protocol.js';
import { oneRefreshAtExpiry, signIn, workerConfig } from './support/scenario.js';

type RefreshHooks = { onRefreshRequest(hook: ((info: RefreshRequestInfo) => Promise<void>) | undefined): void };

/** The first refresh request is held at the server until its client goes away; later ones are served. */
function holdFirstRefreshUntilClientGone(oauth: RefreshHooks): Promise<RefreshRequestInfo> {
  return new Promise((resolve) => {
    oauth.onRefreshRequest(async (info) => {
      oauth.onRefreshRequest(undefined);
      resolve(info);
      await info.clientGone;
    });
  });
}

/** The first refresh request is held at the server (`held` resolves) until `release()`; later ones are served. */
function holdFirstRefresh(oauth: RefreshHooks): { held: Promise<void>; release: () => void } {
  let release!: () => void;
  const released = new Promise<void>((done) => (release = done));
  const held = new Promise<void>((resolve) => {
    oauth.onRefreshRequest(async () => {
      oauth.onRefreshRequest(undefined);
      resolve();
      await released;
    });
  });
  return { held, release };
}

/**
 * At the expiry, a burst of calls in every worker; PostgreSQL is stopped while the first
 * refresh is held at the provider, then the provider answers (it rotates; the store is down).
 */
async function stopStoreDuringRefresh(oauth: RefreshHooks, postgres: { stopServer(): Promise<void> }, workers: WorkerProcess[], expiresAt: number) {
  const { held, release } = holdFirstRefresh(oauth);
  await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
  const bursts = workers.map((w) => w.burst(5, Date.now() + 150));
  await held;
  await postgres.stopServer();
  release();
  return bursts;
}

/** Starts a burst in every worker and resolves with the worker whose coordinator started the refresh. */
async function burstAndFindRefresher(workers: WorkerProcess[], callers: number, at: number) {
  const refresher = Promise.race(workers.map((w) => w.nextRefreshStarted().then(() => w)));
  const bursts = workers.map((w) => w.burst(callers, at));
  for (const burst of bursts) burst.catch(() => {}); // the killed worker's burst never ends
  return { refresher: await refresher, bursts };
}

function okTokens(results: BurstResult[]): Set<string> {
  const all = results.flatMap((b) => b.results);
  expect(all.filter((r) => !r.ok)).toEqual([]);
  return new Set(all.map((r) => (r.ok ? r.token : '')));
}

const backends: Array<{ name: string; config: (url: string, directory: string) => WorkerConfig['backend']; open: (pool: Pool, directory: string) => SessionBackend }> = [
  { name: 'PostgreSQL', config: (url) => ({ kind: 'postgres', url }), open: (pool) => createPostgresBackend({ pool }) },
  // The file lock of a killed holder is taken over once stale: 4 s in the workers.
  { name: 'files', config: (_url, directory) => ({ kind: 'file', directory }), open: (_pool, directory) => createFileBackend({ directory }) },
];

for (const kind of backends) {
  test(`${kind.name}: the refresher SIGKILLed while its request is in flight; another process completes the refresh`, async ({ oauth, pool, postgres, directory, sessionKey }) => {
    const backend = kind.open(pool, directory);
    const expiresAt = await signIn(oauth, backend, sessionKey);
    await backend.close();
    const workers = await startWorkers(3, workerConfig(oauth, sessionKey, kind.config(postgres.url, directory)));
    try {
      const held = holdFirstRefreshUntilClientGone(oauth);
      const staleAt = expiresAt - LEEWAY_SECONDS * 1000;
      await untilTime(staleAt);
      const { refresher, bursts } = await burstAndFindRefresher(workers, 10, Date.now() + 150);
      await held;
      await refresher.kill();
      const survivors = workers.filter((w) => w !== refresher);
      const results = await Promise.all(bursts.filter((_, i) => workers[i] !== refresher));
      const tokens = okTokens(results);
      expect(tokens.size).toBe(1);
      for (const token of tokens) expect(await oauth.accessTokenValid(token)).toBe(true);
      // The killed request never reached the provider; the survivor sent the same refresh token again.
      expect(oauth.stats()).toMatchObject({ refreshRequests: 2, refreshAbandoned: 1, refreshSucceeded: 1, grantsRevoked: 0, invalidGrant: 0 });
      await Promise.all(survivors.map((w) => w.close()));
    } finally {
      await Promise.all(workers.map((w) => w.close().catch(() => {})));
    }
  });
}

test('PostgreSQL, reuse-grace profile through the gateway: the refresher killed after the provider rotated; the next one resends within the grace', async ({ oauth, pool, postgres, sessionKey }) => {
  const gateway = await startGateway({ upstream: oauth, emulate: { graceSeconds: 30 } });
  const backend = createPostgresBackend({ pool });
  try {
    const expiresAt = await signIn(oauth, backend, sessionKey, await gateway.mintSession());
    const config = workerConfig(gateway, sessionKey, { kind: 'postgres', url: postgres.url }, { profile: { reuseGraceSeconds: 30 }, requestTimeoutMs: 60_000 });
    const workers = await startWorkers(3, config);
    try {
      // The provider processes the refresh (the token rotates) and the answer never comes back.
      gateway.script({ forward: true, then: 'hang' });
      await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
      const { refresher, bursts } = await burstAndFindRefresher(workers, 10, Date.now() + 150);
      await expect.poll(() => gateway.stats().consumed).toBe(1);
      await refresher.kill();
      const results = await Promise.all(bursts.filter((_, i) => workers[i] !== refresher));
      const tokens = okTokens(results);
      expect(tokens.size).toBe(1);
      for (const token of tokens) expect(await oauth.accessTokenValid(token)).toBe(true);
      expect(gateway.stats()).toMatchObject({ refreshRequests: 2, replayed: 1, grantsRevoked: 0 });
      expect(await backend.store.read(sessionKey)).toMatchObject({ state: 'active', generation: 2 });
    } finally {
      await Promise.all(workers.map((w) => w.close().catch(() => {})));
    }
  } finally {
    await backend.close();
    await gateway.close();
  }
});

test('PostgreSQL, provider down (503, then Retry-After) through the gateway: one burst of requests for all replicas, TRANSIENT for all, the backoff shared in the row', async ({ oauth, pool, postgres, sessionKey }) => {
  const gateway = await startGateway({ upstream: oauth });
  const backend = createPostgresBackend({ pool });
  try {
    const expiresAt = await signIn(oauth, backend, sessionKey, await gateway.mintSession());
    const workers = await startWorkers(3, workerConfig(gateway, sessionKey, { kind: 'postgres', url: postgres.url }));
    try {
      // Two attempts per refresh (the workers' retry setting): both answered 503, the second asking for 2 s.
      gateway.script({ status: 503 }, { status: 503, retryAfter: '2' });
      await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
      const down = (await Promise.all(workers.map((w) => w.burst(10, Date.now() + 150)))).flatMap((b) => b.results);
      expect(new Set(down.map((r) => (r.ok ? 'ok' : r.code)))).toEqual(new Set(['TRANSIENT']));
      expect(gateway.stats()).toMatchObject({ refreshRequests: 2, forwarded: 0 });
      const stored = await backend.store.read(sessionKey);
      expect(stored).toMatchObject({ state: 'active', generation: 1 });
      const backoff = stored?.state === 'active' ? stored.backoff : undefined;
      const backoffUntil = backoff && backoff.since + backoff.ms;
      expect(backoffUntil).toBeGreaterThan(Date.now());
      // Once the provider's wait is over, one refresh serves every replica.
      await untilTime(backoffUntil! + 1);
      await oneRefreshAtExpiry(oauth, workers, 10, expiresAt);
      expect(gateway.stats()).toMatchObject({ refreshRequests: 3, forwarded: 1, grantsRevoked: 0 });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  } finally {
    await backend.close();
    await gateway.close();
  }
});

test('PostgreSQL restarted between expiries: TRANSIENT while it is down, session kept, one refresh once it is back', async ({ oauth, pool, postgres, sessionKey }) => {
  const backend = createPostgresBackend({ pool });
  let expiresAt = await signIn(oauth, backend, sessionKey);
  const workers = await startWorkers(2, workerConfig(oauth, sessionKey, { kind: 'postgres', url: postgres.url }, { coordinators: 3 }));
  try {
    expiresAt = await oneRefreshAtExpiry(oauth, workers, 10, expiresAt);
    await postgres.stopServer();
    await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
    const down = (await Promise.all(workers.map((w) => w.burst(10, Date.now() + 50)))).flatMap((b) => b.results);
    expect(new Set(down.map((r) => (r.ok ? 'ok' : r.code)))).toEqual(new Set(['TRANSIENT']));
    expect(oauth.stats().refreshRequests).toBe(1);
    await postgres.startServer();
    await oneRefreshAtExpiry(oauth, workers, 10, expiresAt);
    expect(await backend.store.read(sessionKey)).toMatchObject({ state: 'active', generation: 3 });
    expect(oauth.stats()).toMatchObject({ refreshRequests: 2, grantsRevoked: 0 });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await backend.close();
  }
});

for (const kind of backends) {
  const cleared = kind.name === 'files' ? 'the credentials file deleted' : 'the table truncated';
  test(`${kind.name}: ${cleared} while a refresh is at the provider, then a new sign-in: the old refresh does not overwrite it (I10, hole 3)`, async ({ oauth, pool, postgres, directory, sessionKey }) => {
    const backend = kind.open(pool, directory);
    const workers = await startWorkers(3, workerConfig(oauth, sessionKey, kind.config(postgres.url, directory)));
    try {
      const expiresAt = await signIn(oauth, backend, sessionKey);
      const { held, release } = holdFirstRefresh(oauth);
      await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
      const bursts = workers.map((w) => w.burst(5, Date.now() + 150));
      await held;
      if (kind.name === 'files') await rm((backend as FileBackend).fileOf(sessionKey));
      else await pool.query('TRUNCATE tokenherd_sessions');
      await signIn(oauth, backend, sessionKey);
      const signedIn = await backend.store.read(sessionKey);
      expect(signedIn).toMatchObject({ generation: 1, state: 'active', sessionId: expect.any(String) });
      const fresh = signedIn?.state === 'active' ? signedIn.tokens.accessToken : '';
      release();
      // The old grant rotates at the provider, but its compare-and-set names the old session: refused. A caller
      // gets the new session's token, or NOT_SIGNED_IN if it looked while nothing was stored (a file notice
      // of the deletion wakes the waiters); never the old session's.
      const during = (await Promise.all(bursts)).flatMap((b) => b.results);
      for (const result of during) expect([fresh, 'NOT_SIGNED_IN']).toContain(result.ok ? result.token : result.code);
      expect(await backend.store.read(sessionKey)).toEqual(signedIn);
      const after = await Promise.all(workers.map((w) => w.burst(5, Date.now() + 150)));
      expect([...okTokens(after)]).toEqual([fresh]);
      expect(oauth.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1, grantsRevoked: 0, invalidGrant: 0 });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await backend.close();
    }
  });
}

test('PostgreSQL stopped while a refresh is at the provider and back within requestTimeoutMs: the rotated tokens are stored late, nothing is resent, nobody is signed out (issue 14, hole 11)', async ({ oauth, pool, postgres, sessionKey }) => {
  const backend = createPostgresBackend({ pool });
  try {
    const expiresAt = await signIn(oauth, backend, sessionKey, await oauth.mintSession());
    const workers = await startWorkers(2, workerConfig(oauth, sessionKey, { kind: 'postgres', url: postgres.url }, { requestTimeoutMs: 30_000 }));
    try {
      // oidc profile: a resend would revoke the grant.
      const bursts = await stopStoreDuringRefresh(oauth, postgres, workers, expiresAt);
      await expect.poll(() => oauth.stats().refreshSucceeded).toBe(1);
      await postgres.startServer();
      // While the store was down the other replica's callers could only get TRANSIENT; the refresher's got the tokens.
      const during = (await Promise.all(bursts)).flatMap((b) => b.results);
      const rotated = new Set(during.flatMap((r) => (r.ok ? [r.token] : [])));
      expect(rotated.size).toBe(1);
      for (const result of during) if (!result.ok) expect(result.code).toBe('TRANSIENT');
      expect(await backend.store.read(sessionKey)).toMatchObject({ generation: 2, state: 'active' });
      // Back up: every replica holds the one rotated token, which works, and nothing was sent again.
      const after = (await Promise.all(workers.map((w) => w.burst(5, Date.now() + 150)))).flatMap((b) => b.results);
      expect(new Set(after.map((r) => (r.ok ? r.token : r.code)))).toEqual(rotated);
      for (const token of rotated) expect(await oauth.accessTokenValid(token)).toBe(true);
      expect(oauth.stats()).toMatchObject({ refreshRequests: 1, invalidGrant: 0, grantsRevoked: 0 });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  } finally {
    await backend.close();
  }
});

test('PostgreSQL stopped while a refresh is at the provider (reuse-grace profile): TRANSIENT, the in-flight marker kept, and the next refresh recovers within the grace', async ({ oauth, pool, postgres, sessionKey }) => {
  const gateway = await startGateway({ upstream: oauth, emulate: { graceSeconds: 30 } });
  const backend = createPostgresBackend({ pool });
  try {
    const expiresAt = await signIn(oauth, backend, sessionKey, await gateway.mintSession());
    const workers = await startWorkers(2, workerConfig(gateway, sessionKey, { kind: 'postgres', url: postgres.url }, { profile: { reuseGraceSeconds: 30 } }));
    try {
      const bursts = await stopStoreDuringRefresh(oauth, postgres, workers, expiresAt);
      const down = (await Promise.all(bursts)).flatMap((b) => b.results);
      expect(new Set(down.map((r) => (r.ok ? 'ok' : r.code)))).toEqual(new Set(['TRANSIENT']));
      expect(gateway.stats()).toMatchObject({ consumed: 1, grantsRevoked: 0 });
      await postgres.startServer();
      expect(await backend.store.read(sessionKey)).toMatchObject({ generation: 1, state: 'active', refreshInFlight: { unknownSends: 1 } });
      const up = (await Promise.all(workers.map((w) => w.burst(5, Date.now() + 150)))).flatMap((b) => b.results);
      const tokens = new Set(up.map((r) => (r.ok ? r.token : r.code)));
      expect(tokens.size).toBe(1);
      for (const token of tokens) expect(await oauth.accessTokenValid(token)).toBe(true);
      expect(gateway.stats()).toMatchObject({ replayed: 1, grantsRevoked: 0 });
      expect(await backend.store.read(sessionKey)).toMatchObject({ generation: 2, state: 'active' });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  } finally {
    await backend.close();
    await gateway.close();
  }
});

test.describe('a provider that rejects reuse without revoking (GitHub)', () => {
  test.use({ serverOptions: { accessTokenTtlSeconds: 3, reuse: 'reject' } });

  test('PostgreSQL: a loser that gets a real invalid_grant adopts the session a writer outside the lock stored', async ({ oauth, pool, postgres, sessionKey }) => {
    const backend = createPostgresBackend({ pool });
    const minted = await oauth.mintSession();
    const expiresAt = await signIn(oauth, backend, sessionKey, minted);
    const [worker] = await startWorkers(1, workerConfig(oauth, sessionKey, { kind: 'postgres', url: postgres.url }));
    try {
      const { held, release } = holdFirstRefresh(oauth);
      await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
      const burst = worker!.burst(10, Date.now() + 50);
      await held;
      // Meanwhile a writer that ignores the lock (an older version of the app) rotates and stores generation 2.
      const outside = await oauth.refreshOutside(minted['refresh_token'] as string);
      const tokens = parseTokenResponse(outside, Date.now());
      const signedIn = (await backend.store.read(sessionKey))!;
      const next = { ...identityOf(signedIn), generation: 2, state: 'active', cause: 'rotated', tokens, updatedAt: Date.now() } as const;
      expect(await backend.store.compareAndSet(sessionKey, versionOf(signedIn), next)).toEqual({ ok: true });
      release();
      const results = (await burst).results;
      expect(results).toEqual(Array.from({ length: 10 }, () => ({ ok: true, token: tokens.accessToken })));
      expect(await oauth.accessTokenValid(tokens.accessToken)).toBe(true);
      expect(oauth.stats()).toMatchObject({ invalidGrant: 1, grantsRevoked: 0 });
      expect(await backend.store.read(sessionKey)).toMatchObject({ state: 'active', generation: 2 });
    } finally {
      await worker?.close();
      await backend.close();
    }
  });
});

test('files: a truncated session file is reported as STORE_CORRUPT in every process and never overwritten', async ({ oauth, directory, sessionKey }) => {
  const backend = createFileBackend({ directory });
  try {
    await signIn(oauth, backend, sessionKey);
    const file = backend.fileOf(sessionKey);
    const whole = await readFile(file, 'utf8');
    const truncated = whole.slice(0, Math.floor(whole.length / 2));
    await writeFile(file, truncated);
    const workers = await startWorkers(2, workerConfig(oauth, sessionKey, { kind: 'file', directory }));
    try {
      const results = (await Promise.all(workers.map((w) => w.burst(3, Date.now() + 50)))).flatMap((b) => b.results);
      expect(results.map((r) => !r.ok && r.code)).toEqual(Array.from({ length: 6 }, () => 'STORE_CORRUPT'));
      expect(results[0]).toMatchObject({ message: expect.stringContaining(file) });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    const coordinator = createTokenCoordinator({ sessionKey, issuer: oauth.issuer, client: { client_id: oauth.clientId }, allowInsecureRequests: true, backend });
    try {
      await expect(coordinator.setSession(await oauth.mintSession())).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
      await expect(coordinator.signOut()).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    } finally {
      coordinator.close();
    }
    expect(await readFile(file, 'utf8')).toBe(truncated);
  } finally {
    await backend.close();
  }
});
