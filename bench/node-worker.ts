/**
 * One replica of the Node benchmark (bench/node.ts): `contestant` decides how it
 * gets a user's access token; the parent drives bursts and latency samples over IPC.
 * - `tokenherd`: tokenherd/node on PostgreSQL.
 * - `naive`: read the row; expired? refresh and write it back. No coordination at all.
 * - `single-flight`: the same, with one refresh in flight per process and the token cached in
 *   memory: it coordinates the callers of one replica, not the replicas.
 */
import pg from 'pg';
import { createPostgresBackend, createTokenCoordinator } from '../src/node/index.js';
import { BASELINE_TABLE, type NodeWorkerConfig, type NodeWorkerReply, type NodeWorkerRequest } from './node-protocol.js';

const config = JSON.parse(process.env['TOKENHERD_BENCH_WORKER'] ?? '') as NodeWorkerConfig;
const pool = new pg.Pool({ connectionString: config.url, max: 10 });
pool.on('error', () => {});
const send = (reply: NodeWorkerReply): void => void process.send?.(reply);

async function refreshAt(refreshToken: string): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
  const response = await fetch(config.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: config.clientId }),
  });
  const body = (await response.json()) as { error?: string; access_token: string; refresh_token: string; expires_in: number };
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

interface Row {
  access_token: string;
  refresh_token: string;
  expires_at: string;
}

async function readRow(): Promise<Row> {
  const { rows } = await pool.query<Row>(`SELECT access_token, refresh_token, expires_at FROM ${BASELINE_TABLE} WHERE key = $1`, [config.sessionKey]);
  if (!rows[0]) throw new Error('no session');
  return rows[0];
}

async function refreshRow(row: Row): Promise<{ token: string; expiresAt: number }> {
  const tokens = await refreshAt(row.refresh_token);
  const expiresAt = Date.now() + tokens.expires_in * 1000;
  await pool.query(`UPDATE ${BASELINE_TABLE} SET access_token = $2, refresh_token = $3, expires_at = $4 WHERE key = $1`, [
    config.sessionKey,
    tokens.access_token,
    tokens.refresh_token,
    expiresAt,
  ]);
  return { token: tokens.access_token, expiresAt };
}

const fresh = (expiresAt: number): boolean => expiresAt - config.leewaySeconds * 1000 > Date.now();

/** Closes what the contestant holds (the LISTEN connection), so the pool can end. */
let closeContestant = async (): Promise<void> => {};

function contestant(): () => Promise<string> {
  if (config.contestant === 'tokenherd') {
    const backend = createPostgresBackend({ pool });
    const coordinator = createTokenCoordinator({
      sessionKey: config.sessionKey,
      issuer: config.issuer,
      tokenEndpoint: config.tokenEndpoint,
      client: { client_id: config.clientId },
      allowInsecureRequests: true,
      refreshLeewaySeconds: config.leewaySeconds,
      autoRefresh: false, // the on-demand table: every process asks at the stale instant
      backend,
    });
    closeContestant = () => {
      coordinator.close();
      return backend.close();
    };
    return () => coordinator.getAccessToken();
  }
  if (config.contestant === 'naive') {
    return async () => {
      const row = await readRow();
      return fresh(Number(row.expires_at)) ? row.access_token : (await refreshRow(row)).token;
    };
  }
  let cached: { token: string; expiresAt: number } | undefined;
  let inFlight: Promise<{ token: string; expiresAt: number }> | undefined;
  return async () => {
    if (cached && fresh(cached.expiresAt)) return cached.token;
    inFlight ??= (async () => {
      const row = await readRow();
      return fresh(Number(row.expires_at)) ? { token: row.access_token, expiresAt: Number(row.expires_at) } : refreshRow(row);
    })().finally(() => {
      inFlight = undefined;
    });
    cached = await inFlight;
    return cached.token;
  };
}

const getToken = contestant();

process.on('message', (request: NodeWorkerRequest) => {
  if (request.type === 'burst') {
    setTimeout(() => {
      void Promise.allSettled(Array.from({ length: request.callers }, () => getToken())).then((results) => {
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as { code?: string }).code ?? (r.reason as Error).message)] : []));
        send({ type: 'burst-done', id: request.id, ok: results.length - errors.length, failed: errors.length, errors: [...new Set(errors)] });
      });
    }, Math.max(0, request.at - Date.now()));
  } else if (request.type === 'latency') {
    void (async () => {
      const micros: number[] = [];
      for (let i = 0; i < request.samples; i++) {
        const start = process.hrtime.bigint();
        await getToken();
        micros.push(Number(process.hrtime.bigint() - start) / 1000);
      }
      send({ type: 'latency-done', id: request.id, micros });
    })().catch(() => send({ type: 'latency-done', id: request.id, micros: [] }));
  } else {
    void closeContestant()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  }
});

send({ type: 'ready' });
