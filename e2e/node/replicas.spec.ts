import { createFileBackend, createPostgresBackend } from '../../src/node/index.js';
import { expect, test } from './support/fixtures.js';
import { startWorkers, type WorkerProcess } from './support/processes.js';
import { oneRefreshAtExpiry, signIn, workerConfig } from './support/scenario.js';

const EXPIRIES = 3;

test.describe('one refresh per expiry across processes', () => {
  test('PostgreSQL: 4 replicas x 50 concurrent callers, 3 expiries', async ({ oauth, pool, postgres, sessionKey }) => {
    const backend = createPostgresBackend({ pool });
    let expiresAt = await signIn(oauth, backend, sessionKey);
    await backend.close();
    // 10 coordinators per replica, as request handlers that each create their own: the in-process queue serves them.
    const workers: WorkerProcess[] = await startWorkers(4, workerConfig(oauth, sessionKey, { kind: 'postgres', url: postgres.url }, { coordinators: 10 }));
    try {
      for (let expiry = 0; expiry < EXPIRIES; expiry++) expiresAt = await oneRefreshAtExpiry(oauth, workers, 50, expiresAt);
      expect(oauth.stats()).toMatchObject({ refreshRequests: EXPIRIES, refreshSucceeded: EXPIRIES, grantsRevoked: 0 });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });

  test('files: 8 CLI processes x 10 concurrent callers, 3 expiries', async ({ oauth, directory, sessionKey }) => {
    const backend = createFileBackend({ directory });
    let expiresAt = await signIn(oauth, backend, sessionKey);
    await backend.close();
    const workers = await startWorkers(8, workerConfig(oauth, sessionKey, { kind: 'file', directory }));
    try {
      for (let expiry = 0; expiry < EXPIRIES; expiry++) expiresAt = await oneRefreshAtExpiry(oauth, workers, 10, expiresAt);
      expect(oauth.stats()).toMatchObject({ refreshRequests: EXPIRIES, refreshSucceeded: EXPIRIES, grantsRevoked: 0 });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });
});
