import { test as base } from '@playwright/test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startOAuthServer, type OAuthServer, type OAuthServerOptions } from '../../../dev/oauth-server.js';
import { startPostgres, type PostgresCluster } from '../../../dev/postgres.js';
import { migratePostgres } from '../../../src/node/index.js';

/** Access tokens live 3 s and count as stale 1 s before that: several expiries per test. */
export const ACCESS_TOKEN_TTL_SECONDS = 3;
export const LEEWAY_SECONDS = 1;

export const test = base.extend<
  { serverOptions: OAuthServerOptions; oauth: OAuthServer; directory: string; pool: pg.Pool; sessionKey: string },
  { postgres: PostgresCluster }
>({
  // One private cluster per test worker (about 2 s to start); each test uses its own session key.
  postgres: [
    async ({}, use) => {
      const cluster = await startPostgres();
      const pool = new pg.Pool({ connectionString: cluster.url });
      await migratePostgres(pool);
      await pool.end();
      await use(cluster);
      await cluster.stop();
    },
    { scope: 'worker' },
  ],
  serverOptions: [{ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS }, { option: true }],
  oauth: async ({ serverOptions }, use) => {
    const server = await startOAuthServer(serverOptions);
    await use(server);
    await server.close();
  },
  directory: async ({}, use) => {
    const directory = await mkdtemp(join(tmpdir(), 'tokenherd-files-'));
    await use(directory);
    await rm(directory, { recursive: true, force: true });
  },
  pool: async ({ postgres }, use) => {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
    pool.on('error', () => {}); // idle connections lost when a test restarts the server
    await use(pool);
    await pool.end();
  },
  sessionKey: async ({}, use, testInfo) => {
    await use(`user-${testInfo.testId}-${testInfo.retry}`);
  },
});

export { expect } from '@playwright/test';
