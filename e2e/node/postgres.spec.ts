import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { SessionBackend } from '../../src/node/backend.js';
import { migratePostgres, sealWith, type Sealer } from '../../src/node/index.js';
import { createPostgresBackend } from '../../src/node/postgres-backend.js';
import { LEEWAY_SECONDS, expect, test } from './support/fixtures.js';
import { untilTime } from './support/processes.js';
import { expectSessionIdsChecked } from '../../test/support/store-contract.js';
import { coordinatorOn, signIn } from './support/scenario.js';

const TABLE = 'tokenherd_sessions';

/** AES-256-GCM with a random IV: sealing one text twice gives two different strings. */
function testSealer(): Sealer & { seals: number } {
  const key = randomBytes(32);
  const sealer = {
    seals: 0,
    async seal(text: string) {
      sealer.seals++;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
    },
    async unseal(sealed: string) {
      const raw = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
  return sealer;
}

test('migratePostgres is explicit and idempotent; the row keeps the refresh token out of the record column', async ({ oauth, pool, sessionKey }) => {
  await migratePostgres(pool);
  await migratePostgres(pool);
  const backend = createPostgresBackend({ pool });
  try {
    const minted = await oauth.mintSession();
    await signIn(oauth, backend, sessionKey, minted);
    const { rows } = await pool.query(`SELECT generation, record, refresh_token FROM ${TABLE} WHERE session_key = $1`, [sessionKey]);
    expect(rows).toHaveLength(1);
    expect(rows[0].generation).toBe('1');
    expect(rows[0].refresh_token).toBe(minted['refresh_token']);
    expect(JSON.stringify(rows[0].record)).not.toContain(minted['refresh_token'] as string);
    expect(await backend.store.read(sessionKey)).toMatchObject({ generation: 1, tokens: { refreshToken: minted['refresh_token'] } });
  } finally {
    await backend.close();
  }
});

test('a sealer seals the refresh token column; compare-and-set compares generations, never ciphertexts', async ({ oauth, pool, sessionKey }) => {
  const backend = createPostgresBackend({ pool });
  const sealer = testSealer();
  const coordinator = coordinatorOn(oauth, backend, sessionKey, { sealing: sealWith(sealer) });
  try {
    await coordinator.setSession(await oauth.mintSession());
    const column = async () =>
      (await pool.query(`SELECT refresh_token FROM ${TABLE} WHERE session_key = $1`, [sessionKey])).rows[0].refresh_token as string;
    const first = await column();
    expect(first).toMatch(/^tokenherd-sealed:v1:/);
    await untilTime(coordinator.getState().expiresAt! - LEEWAY_SECONDS * 1000);
    const token = await coordinator.getAccessToken();
    expect(await oauth.accessTokenValid(token)).toBe(true);
    // The refresh wrote a marker, then the rotation: each write sealed afresh, and each compare-and-set held.
    expect(await column()).toMatch(/^tokenherd-sealed:v1:/);
    expect(await column()).not.toBe(first);
    // Three writes of a record that holds a refresh token, each sealed once: the sign-in,
    // the marker before the one send, the rotation. Reads unseal and never seal.
    expect(sealer.seals).toBe(3);
    expect(coordinator.getState()).toMatchObject({ generation: 2, refreshRequests: 1 });
    expect(oauth.stats()).toMatchObject({ refreshSucceeded: 1, invalidGrant: 0 });
  } finally {
    coordinator.close();
    await backend.close();
  }
});

test('NOTIFY carries only the hint: v, type, session key and generation, never a token', async ({ oauth, pool, postgres, sessionKey }) => {
  const listener = new pg.Client({ connectionString: postgres.url });
  await listener.connect();
  const payloads: string[] = [];
  listener.on('notification', (n) => {
    if (n.payload) payloads.push(n.payload);
  });
  await listener.query('LISTEN tokenherd');
  const backend = createPostgresBackend({ pool });
  try {
    const minted = await oauth.mintSession();
    await signIn(oauth, backend, sessionKey, minted);
    await expect.poll(() => payloads.length).toBe(1);
    expect(JSON.parse(payloads[0]!)).toEqual({ v: expect.any(Number), type: 'session-changed', sessionKey, generation: 1 });
    expect(payloads[0]).not.toContain(minted['access_token'] as string);
    expect(payloads[0]).not.toContain(minted['refresh_token'] as string);
  } finally {
    await backend.close();
    await listener.end();
  }
});

test('another process on the same key hears a sign-in through LISTEN and reads it', async ({ oauth, pool, postgres, sessionKey }) => {
  // A second pool stands for another replica: its own connections, its own LISTEN.
  const otherPool = new pg.Pool({ connectionString: postgres.url, max: 2 });
  const other = createPostgresBackend({ pool: otherPool });
  const backend = createPostgresBackend({ pool });
  const watcher = coordinatorOn(oauth, other, sessionKey);
  try {
    await watcher.reload();
    const changes: string[] = [];
    watcher.subscribe((event) => {
      if (event.type === 'session-changed') changes.push(event.change);
    });
    await signIn(oauth, backend, sessionKey);
    await expect.poll(() => changes).toEqual(['signed-in']);
    expect(watcher.getState()).toMatchObject({ status: 'signed-in', generation: 1 });
  } finally {
    watcher.close();
    await other.close();
    await otherPool.end();
    await backend.close();
  }
});

test('the advisory lock excludes replicas; a waiter that gives up is cancelled at the server', async ({ pool, postgres }) => {
  const otherPool = new pg.Pool({ connectionString: postgres.url, max: 2 });
  const a = createPostgresBackend({ pool });
  const b = createPostgresBackend({ pool: otherPool });
  const waitingOnLock = async () =>
    (await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%pg_advisory_xact_lock%'`)).rows[0].n as number;
  try {
    let release!: () => void;
    let granted = false;
    const held = a.lock.request('tokenherd:lock-test', {}, () => {
      granted = true;
      return new Promise<void>((resolve) => (release = resolve));
    });
    await expect.poll(() => granted).toBe(true);
    const giveUp = new AbortController();
    const waiting = b.lock.request('tokenherd:lock-test', { signal: giveUp.signal }, async () => 'never');
    await expect.poll(waitingOnLock).toBe(1);
    giveUp.abort('lock timeout');
    await expect(waiting).rejects.toBe('lock timeout');
    await expect.poll(waitingOnLock).toBe(0);
    const next = b.lock.request('tokenherd:lock-test', {}, async () => 'granted');
    await expect.poll(waitingOnLock).toBe(1);
    release();
    await held;
    expect(await next).toBe('granted');
  } finally {
    await a.close();
    await b.close();
    await otherPool.end();
  }
});

test('many coordinators of one key in one process contend once for the advisory lock per expiry', async ({ oauth, pool, sessionKey }) => {
  const backend = createPostgresBackend({ pool });
  let acquisitions = 0;
  const counted: SessionBackend = {
    ...backend,
    lock: {
      request(name, options, callback) {
        acquisitions++;
        return backend.lock.request(name, options, callback);
      },
    },
  };
  const coordinators = Array.from({ length: 10 }, () => coordinatorOn(oauth, counted, sessionKey));
  try {
    const expiresAt = await signIn(oauth, counted, sessionKey);
    await untilTime(expiresAt - LEEWAY_SECONDS * 1000);
    const tokens = await Promise.all(coordinators.flatMap((c) => Array.from({ length: 5 }, () => c.getAccessToken())));
    expect(new Set(tokens).size).toBe(1);
    expect(acquisitions).toBe(1);
    expect(oauth.stats().refreshRequests).toBe(1);
  } finally {
    for (const c of coordinators) c.close();
    await backend.close();
  }
});

test('a damaged row is reported as STORE_CORRUPT and left as it is', async ({ oauth, pool, sessionKey }) => {
  const backend = createPostgresBackend({ pool });
  await signIn(oauth, backend, sessionKey);
  await pool.query(`UPDATE ${TABLE} SET record = '{"broken": true}' WHERE session_key = $1`, [sessionKey]);
  const coordinator = coordinatorOn(oauth, backend, sessionKey);
  try {
    await expect(coordinator.getAccessToken()).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    await expect(coordinator.setSession(await oauth.mintSession())).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    const { rows } = await pool.query(`SELECT generation, record FROM ${TABLE} WHERE session_key = $1`, [sessionKey]);
    expect(rows).toEqual([{ generation: '1', record: { broken: true } }]);
  } finally {
    coordinator.close();
    await backend.close();
  }
});

test('compare-and-set checks the session id: after the table is truncated and a new sign-in, the old session writes nothing (I10)', async ({ pool, sessionKey }) => {
  await migratePostgres(pool);
  const backend = createPostgresBackend({ pool });
  try {
    await expectSessionIdsChecked(backend.store, sessionKey, async () => {
      await pool.query(`TRUNCATE ${TABLE}`);
    });
  } finally {
    await backend.close();
  }
});
