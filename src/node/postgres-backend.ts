import { onAbort } from '../shared/abort.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import type { CompareAndSetResult, LockPort, SessionStore } from '../shared/ports.js';
import { isStoredSession, type StoredSession } from '../shared/session.js';
import { invalidOption } from '../shared/settings.js';
import { transient, type SessionBackend } from './backend.js';
import { createPostgresNotices } from './postgres-notices.js';

/** Options of `createPostgresBackend`: the caller's pool, and the table and channel names (lower-case SQL identifiers). */
export interface PostgresBackendOptions {
  /**
   * The caller's pool (`new pg.Pool(...)`); the backend never ends it. It takes one
   * connection for LISTEN for as long as it is open, and one per session key being
   * refreshed in this process for the length of that refresh. Typed by what the
   * backend calls (a `pg.Pool` fits): the declarations never import `pg`, so a
   * TypeScript user needs no `@types/pg`.
   */
  readonly pool: {
    query(text: string, values?: unknown[]): Promise<{ readonly rows: unknown[] }>;
    connect(): Promise<{
      query(text: string, values?: unknown[]): Promise<{ readonly rows: unknown[] }>;
      on(event: 'error', listener: (error: Error) => void): unknown;
      on(event: 'notification', listener: (notification: { channel: string; payload?: string | undefined }) => void): unknown;
      off(event: 'error', listener: (error: Error) => void): unknown;
      /** `true` destroys the connection instead of returning it to the pool. */
      release(destroy?: boolean): void;
      /** The server process of the connection (pg's `Client` has it; its types do not declare it). */
      readonly processID?: number;
    }>;
  };
  /** Default `tokenherd_sessions`. The same name must be given to `migratePostgres`. */
  readonly table?: string;
  /** The LISTEN/NOTIFY channel. Default `tokenherd`. */
  readonly channel?: string;
}

type PoolClient = Awaited<ReturnType<PostgresBackendOptions['pool']['connect']>>;

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * What a person must change for a SQLSTATE that no retry fixes, or undefined for a
 * failure that passes (a refused connection, a restart, a timeout: TRANSIENT).
 */
function misconfiguration(sqlstate: string, table: string): string | undefined {
  if (sqlstate.startsWith('28')) {
    return "the server refused the pool's credentials (wrong user or password, or no pg_hba.conf entry for this client): fix the pool's connection settings";
  }
  if (sqlstate === '3D000') return "the database does not exist: fix the database name in the pool's connection settings";
  if (sqlstate === '42P01') return `the table ${table} does not exist: run migratePostgres with the same table name first, or fix the table option`;
  if (sqlstate === '42501') return `the database user lacks a privilege: grant it SELECT, INSERT and UPDATE on ${table} (and CREATE on its schema to run migratePostgres)`;
  return undefined;
}

/**
 * The coded error of a failed database call: INVALID_OPTIONS for a misconfiguration
 * (authentication, a missing database or table, a missing privilege), with what to fix;
 * TRANSIENT for everything else. pg's error stays the `cause`.
 */
function databaseFailure(message: string, cause: unknown, table: string): TokenHerdError {
  const sqlstate = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  const fix = typeof sqlstate === 'string' && /^[0-9A-Z]{5}$/.test(sqlstate) ? misconfiguration(sqlstate, table) : undefined;
  if (fix === undefined) return transient(message, cause);
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new TokenHerdError(ErrorCode.INVALID_OPTIONS, `${message}: ${fix} (SQLSTATE ${sqlstate}${detail})`, { cause });
}

function identifier(name: string, value: unknown, fallback: string): string {
  const chosen = value ?? fallback;
  if (typeof chosen !== 'string' || !IDENTIFIER.test(chosen)) {
    throw invalidOption(`${name} must be a lower-case SQL identifier, got ${JSON.stringify(value)}`);
  }
  return chosen;
}

/**
 * Creates the sessions table if it does not exist. Call it once from your own
 * migration step (or at start-up); the backend never changes the schema itself.
 * - `generation` is the compare-and-set column;
 * - `record` is the stored session without its refresh token;
 * - `refresh_token` holds the refresh token, sealed when the coordinator is given `sealing: sealWith(sealer)`.
 */
export async function migratePostgres(pool: Pick<PostgresBackendOptions['pool'], 'query'>, options: { readonly table?: string } = {}): Promise<void> {
  if (typeof pool?.query !== 'function') throw invalidOption('pool must be a pg Pool');
  const table = identifier('table', options.table, 'tokenherd_sessions');
  try {
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (
    session_key text PRIMARY KEY CHECK (length(session_key) BETWEEN 1 AND 256),
    generation bigint NOT NULL CHECK (generation >= 1),
    record jsonb NOT NULL,
    refresh_token text,
    updated_at timestamptz NOT NULL DEFAULT now()
  )`);
  } catch (error) {
    throw databaseFailure(`Could not create the table ${table}`, error, table);
  }
}

/**
 * Sessions in PostgreSQL, for server replicas.
 *
 * Lock: a transaction-scoped advisory lock on `hashtextextended(name, 0)`, taken on
 * a connection held for the refresh. Chosen over `SELECT ... FOR UPDATE` because it
 * needs no row (the first sign-in and a deleted row lock the same way) and blocks
 * no reader or compare-and-set of the row; chosen over a session-level advisory
 * lock because ending the transaction, or losing the connection (the holder
 * killed, the server restarted), always releases it: nothing can leak a lock
 * held for ever. The cost is one connection per session key being refreshed,
 * held for the refresh (at most `requestTimeoutMs` times the retry attempts, plus
 * backoff). A waiter that gives up (lock timeout, or another replica's result
 * arrived) is cancelled with `pg_cancel_backend`, and its connection discarded.
 *
 * Compare-and-set: one `UPDATE ... WHERE session_key = $1 AND generation = $2`
 * (or `INSERT ... ON CONFLICT DO NOTHING` for generation 0). Readers and
 * writers never need the lock for correctness: the lock only avoids duplicate
 * refreshes.
 *
 * Notices: `NOTIFY <channel>` with the hint message (`hintOf`), never a token.
 */
export function createPostgresBackend(options: PostgresBackendOptions): SessionBackend {
  if (typeof options !== 'object' || options === null || typeof options.pool?.query !== 'function') {
    throw invalidOption('pool must be a pg Pool');
  }
  const { pool } = options;
  const table = identifier('table', options.table, 'tokenherd_sessions');
  const channel = identifier('channel', options.channel, 'tokenherd');

  async function query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    try {
      return (await pool.query(text, values)).rows as R[];
    } catch (error) {
      throw databaseFailure('PostgreSQL failed', error, table);
    }
  }

  async function readRecord(sessionKey: string): Promise<StoredSession | undefined> {
    const rows = await query<{ generation: string; record: unknown; refresh_token: string | null }>(
      `SELECT generation, record, refresh_token FROM ${table} WHERE session_key = $1`,
      [sessionKey],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const { record, refresh_token: refreshToken } = row;
    const value =
      typeof record === 'object' && record !== null && 'tokens' in record && refreshToken !== null
        ? { ...record, tokens: { ...(record.tokens as object), refreshToken } }
        : record;
    if (!isStoredSession(value) || value.sessionKey !== sessionKey || String(value.generation) !== row.generation) {
      throw new TokenHerdError(
        ErrorCode.STORE_CORRUPT,
        `The row of session ${JSON.stringify(sessionKey)} in ${table} is not a valid session record; it is left as it is`,
      );
    }
    return value;
  }

  /** The record without its refresh token, and the refresh token for its own column. */
  function split(next: StoredSession): [string, string | null] {
    if (next.state !== 'active' || next.tokens.refreshToken === undefined) return [JSON.stringify(next), null];
    const { refreshToken, ...tokens } = next.tokens;
    return [JSON.stringify({ ...next, tokens }), refreshToken];
  }

  const store: SessionStore = {
    read: readRecord,
    async compareAndSet(sessionKey, expected, next): Promise<CompareAndSetResult> {
      const [record, refreshToken] = split(next);
      const rows =
        expected.generation === 0
          ? await query(
              `INSERT INTO ${table} (session_key, generation, record, refresh_token) VALUES ($1, $2, $3, $4)
               ON CONFLICT (session_key) DO NOTHING RETURNING 1`,
              [sessionKey, next.generation, record, refreshToken],
            )
          : await query(
              `UPDATE ${table} SET generation = $3, record = $4, refresh_token = $5, updated_at = now()
               WHERE session_key = $1 AND generation = $2 AND record->>'sessionId' IS NOT DISTINCT FROM $6 RETURNING 1`,
              [sessionKey, expected.generation, next.generation, record, refreshToken, expected.sessionId ?? null],
            );
      return rows.length === 1 ? { ok: true } : { ok: false, current: await readRecord(sessionKey) };
    },
    close() {},
  };

  const lock: LockPort = {
    async request(name, { signal }, callback) {
      if (signal?.aborted) throw signal.reason;
      // A full pool makes connect() wait: the caller's signal still ends that wait.
      const connecting = pool.connect();
      let stopWaiting = (): void => {};
      let client: PoolClient;
      try {
        client = await Promise.race([
          connecting,
          new Promise<never>((_, reject) => {
            stopWaiting = onAbort(signal, reject);
          }),
        ]);
      } catch (error) {
        if (signal?.aborted && error === signal.reason) {
          void connecting.then((late) => late.release(), () => {});
          throw error;
        }
        throw databaseFailure('Could not connect to PostgreSQL for the refresh lock', error, table);
      } finally {
        stopWaiting();
      }
      // A checked-out client that loses its connection emits 'error'; unheard, that would end the process.
      let lost = false;
      const onError = (): void => {
        lost = true;
      };
      client.on('error', onError);
      let discard = false;
      try {
        let cancelled = false;
        const stopAbort = onAbort(signal, () => {
          cancelled = true;
          const pid = client.processID;
          void pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => {});
        });
        try {
          await client.query('BEGIN');
          await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [name]);
        } catch (error) {
          discard = true;
          if (cancelled && signal) throw signal.reason;
          throw databaseFailure('PostgreSQL failed while waiting for the refresh lock', error, table);
        } finally {
          stopAbort();
        }
        if (cancelled && signal) {
          discard = true; // a cancel may still be on its way to this connection
          throw signal.reason;
        }
        return await callback();
      } finally {
        // The result stands even if COMMIT fails: the lock only went away early, and compare-and-set guarded every write.
        if (!discard && !lost) await client.query('COMMIT').catch(() => (discard = true));
        client.off('error', onError);
        client.release(discard || lost ? true : undefined);
      }
    },
  };

  const notices = createPostgresNotices(pool, channel);
  return {
    lock,
    store,
    notices: notices.port,
    close: notices.close,
  };
}
