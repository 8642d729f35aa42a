import pg from 'pg';
import { PASSWORD_ROLE, type PostgresCluster } from '../../dev/postgres.js';
import { createPostgresBackend } from '../../src/node/postgres-backend.js';
import { migratePostgres, type TokenCoordinator } from '../../src/node/index.js';
import { expect, test } from './support/fixtures.js';
import { coordinatorOn, signIn } from './support/scenario.js';

const TABLE = 'tokenherd_sessions';
const PASSWORD = 'the-right-password';

/** A pool of its own for one connection string (LISTEN, the lock's connection and a query: 3 at most); ended by the caller. */
function poolFor(connectionString: string): pg.Pool {
  const pool = new pg.Pool({ connectionString, max: 4 });
  pool.on('error', () => {});
  return pool;
}

/** The password role, allowed to use the sessions table (not to create tables); idempotent across the worker's tests. */
async function passwordRole(pool: pg.Pool, postgres: PostgresCluster): Promise<(password: string) => string> {
  await pool.query(`DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${PASSWORD_ROLE}') THEN CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD '${PASSWORD}'; END IF;
  END $$`);
  await pool.query(`GRANT SELECT, INSERT, UPDATE ON ${TABLE} TO ${PASSWORD_ROLE}`);
  return (password) => `postgres://${PASSWORD_ROLE}:${password}@127.0.0.1:${postgres.port}/postgres`;
}

async function rowOf(pool: pg.Pool, sessionKey: string): Promise<unknown> {
  return (await pool.query(`SELECT generation, record, refresh_token, updated_at FROM ${TABLE} WHERE session_key = $1`, [sessionKey])).rows;
}

/** Every call of a coordinator on a misconfigured backend rejects with INVALID_OPTIONS and `fix` in its message, pg's error as the cause. */
async function expectMisconfigured(coordinator: TokenCoordinator, fix: RegExp, sqlstate: RegExp): Promise<void> {
  const expected = { name: 'TokenHerdError', code: 'INVALID_OPTIONS', message: expect.stringMatching(fix), cause: expect.objectContaining({ code: expect.stringMatching(sqlstate) }) };
  await expect(coordinator.getAccessToken()).rejects.toMatchObject(expected);
  await expect(coordinator.getAccessToken({ forceRefresh: true })).rejects.toMatchObject(expected);
  await expect(coordinator.signOut()).rejects.toMatchObject(expected);
}

test('a wrong password is INVALID_OPTIONS saying to fix the credentials, never TRANSIENT; the session row is untouched', async ({ oauth, pool, postgres, sessionKey }) => {
  const urlWith = await passwordRole(pool, postgres);
  const signedIn = createPostgresBackend({ pool });
  await signIn(oauth, signedIn, sessionKey);
  await signedIn.close();
  const before = await rowOf(pool, sessionKey);

  const wrong = poolFor(urlWith('not-the-password'));
  const right = poolFor(urlWith(PASSWORD));
  const onWrong = createPostgresBackend({ pool: wrong });
  const onRight = createPostgresBackend({ pool: right });
  const misconfigured = coordinatorOn(oauth, onWrong, sessionKey);
  const configured = coordinatorOn(oauth, onRight, sessionKey);
  try {
    await expectMisconfigured(misconfigured, /refused the pool's credentials.*fix the pool's connection settings/, /^28/);
    expect(await rowOf(pool, sessionKey)).toEqual(before);
    expect(oauth.stats().refreshRequests).toBe(0);
    // The same role with its password reads the same row: only the password was wrong.
    expect(await oauth.accessTokenValid(await configured.getAccessToken())).toBe(true);
  } finally {
    misconfigured.close();
    configured.close();
    await onWrong.close();
    await onRight.close();
    await wrong.end();
    await right.end();
  }
});

test('a missing database is INVALID_OPTIONS naming the database setting; migratePostgres rejects with a TokenHerdError too', async ({ oauth, postgres, sessionKey }) => {
  const missing = poolFor(`postgres://postgres@127.0.0.1:${postgres.port}/tokenherd_no_such_database`);
  const backend = createPostgresBackend({ pool: missing });
  const coordinator = coordinatorOn(oauth, backend, sessionKey);
  try {
    await expect(migratePostgres(missing)).rejects.toMatchObject({ name: 'TokenHerdError', code: 'INVALID_OPTIONS', message: expect.stringMatching(/database does not exist/) });
    await expectMisconfigured(coordinator, /database does not exist: fix the database name/, /^3D000$/);
  } finally {
    coordinator.close();
    await backend.close();
    await missing.end();
  }
});

test('a table not yet migrated is INVALID_OPTIONS saying to run migratePostgres; after it, the same coordinator works', async ({ oauth, pool, sessionKey }) => {
  const table = `tokenherd_later_${Date.now()}`;
  const backend = createPostgresBackend({ pool, table });
  const coordinator = coordinatorOn(oauth, backend, sessionKey);
  try {
    await expectMisconfigured(coordinator, new RegExp(`table ${table} does not exist: run migratePostgres`), /^42P01$/);
    await expect(coordinator.setSession(await oauth.mintSession())).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await migratePostgres(pool, { table });
    await coordinator.setSession(await oauth.mintSession());
    expect(await oauth.accessTokenValid(await coordinator.getAccessToken({ forceRefresh: true }))).toBe(true);
  } finally {
    coordinator.close();
    await backend.close();
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
  }
});

test('migratePostgres without the privilege to create the table is INVALID_OPTIONS saying which grant is missing', async ({ pool, postgres }) => {
  const urlWith = await passwordRole(pool, postgres);
  const unprivileged = poolFor(urlWith(PASSWORD));
  try {
    await expect(migratePostgres(unprivileged, { table: 'tokenherd_not_allowed' })).rejects.toMatchObject({
      name: 'TokenHerdError',
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(/lacks a privilege: grant/),
      cause: expect.objectContaining({ code: '42501' }),
    });
  } finally {
    await unprivileged.end();
  }
});

test('a refused connection stays TRANSIENT, as a database restart is (migratePostgres included)', async ({ oauth, postgres, sessionKey }) => {
  const stopped = poolFor(`postgres://postgres@127.0.0.1:1/postgres`);
  const backend = createPostgresBackend({ pool: stopped });
  const coordinator = coordinatorOn(oauth, backend, sessionKey);
  try {
    expect(postgres.port).not.toBe(1);
    await expect(migratePostgres(stopped)).rejects.toMatchObject({ name: 'TokenHerdError', code: 'TRANSIENT' });
    await expect(coordinator.getAccessToken()).rejects.toMatchObject({ name: 'TokenHerdError', code: 'TRANSIENT' });
  } finally {
    coordinator.close();
    await backend.close();
    await stopped.end();
  }
});
