/**
 * `npm run bench:node` (and the last section of `npm run bench`): R replica
 * processes x C concurrent callers of one user at each of several expiries, on
 * a private PostgreSQL cluster and the embedded oidc-provider (rotation + reuse
 * revocation). Contestants: tokenherd/node, and two baselines users write by hand
 * (bench/node-worker.ts). Reports token requests per expiry, failed calls, grants
 * revoked, and the latency a call adds when the token is valid (p50/p99).
 *
 *   npm run bench:node -- [--replicas 4] [--callers 50] [--expiries 3] [--ttl 3] [--samples 2000]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startOAuthServer, type OAuthServer } from '../dev/oauth-server.js';
import { startPostgres } from '../dev/postgres.js';
import type { SessionBackend } from '../src/node/backend.js';
import { createTokenCoordinator, migratePostgres } from '../src/node/index.js';
import { createPostgresBackend } from '../src/node/postgres-backend.js';
import { forkTsx, untilTime } from '../e2e/node/support/processes.js';
import { BASELINE_TABLE, type Contestant, type NodeWorkerConfig, type NodeWorkerReply, type NodeWorkerRequest } from './node-protocol.js';

export interface NodeBenchOptions {
  readonly replicas: number;
  readonly callers: number;
  readonly expiries: number;
  readonly ttlSeconds: number;
  readonly samples: number;
  readonly contestants: readonly Contestant[];
}

export interface NodeBenchResult {
  readonly contestant: Contestant;
  /** Token endpoint requests at each expiry. */
  readonly requestsPerExpiry: number[];
  readonly failedCalls: number;
  readonly errors: string[];
  readonly invalidGrant: number;
  readonly grantsRevoked: number;
  /** Latency of a call that finds a valid token, microseconds. */
  readonly p50Micros: number;
  readonly p99Micros: number;
}

export const NODE_BENCH_DEFAULTS: NodeBenchOptions = {
  replicas: 4,
  callers: 50,
  expiries: 3,
  ttlSeconds: 3,
  samples: 2000,
  contestants: ['tokenherd', 'single-flight', 'naive'],
};

const WORKER = fileURLToPath(new URL('./node-worker.ts', import.meta.url));
const LEEWAY_SECONDS = 1;

interface Worker {
  ask<T extends NodeWorkerReply>(request: NodeWorkerRequest): Promise<T>;
  close(): Promise<void>;
}

function startWorker(config: NodeWorkerConfig): Promise<Worker> {
  const { child, exited } = forkTsx(WORKER, 'TOKENHERD_BENCH_WORKER', config);
  const waiting = new Map<number, (reply: NodeWorkerReply) => void>();
  child.on('message', (reply: NodeWorkerReply) => {
    if ('id' in reply) waiting.get(reply.id)?.(reply);
  });
  return new Promise((resolve, reject) => {
    void exited.then(() => reject(new Error('a benchmark worker exited')));
    child.once('message', () =>
      resolve({
        ask: <T extends NodeWorkerReply>(request: NodeWorkerRequest) =>
          new Promise<T>((done) => {
            if ('id' in request) waiting.set(request.id, done as (reply: NodeWorkerReply) => void);
            child.send(request);
          }),
        async close() {
          child.send({ type: 'close' });
          await exited;
        },
      }),
    );
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runNodeBench(options: NodeBenchOptions = NODE_BENCH_DEFAULTS): Promise<NodeBenchResult[]> {
  const cluster = process.env['DATABASE_URL'] ? undefined : await startPostgres();
  const url = process.env['DATABASE_URL'] ?? cluster!.url;
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on('error', () => {});
  await migratePostgres(pool);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${BASELINE_TABLE} (key text PRIMARY KEY, access_token text, refresh_token text, expires_at bigint)`);
  const backend = createPostgresBackend({ pool });
  const oauth = await startOAuthServer({ accessTokenTtlSeconds: options.ttlSeconds });
  const results: NodeBenchResult[] = [];
  try {
    for (const contestant of options.contestants) results.push(await runContestant(contestant, options, { url, pool, backend, oauth }));
  } finally {
    await backend.close();
    await pool.end();
    await oauth.close();
    await cluster?.stop();
  }
  return results;
}

async function runContestant(
  contestant: Contestant,
  options: NodeBenchOptions,
  { url, pool, backend, oauth }: { url: string; pool: pg.Pool; backend: SessionBackend; oauth: OAuthServer },
): Promise<NodeBenchResult> {
  const sessionKey = `bench-${contestant}-${Date.now()}`;
  /** Stores a new session as a sign-in would; returns its access token's expiry. */
  async function signIn(): Promise<number> {
    const tokens = await oauth.mintSession();
    if (contestant === 'tokenherd') {
      const coordinator = createTokenCoordinator({ sessionKey, issuer: oauth.issuer, client: { client_id: oauth.clientId }, allowInsecureRequests: true, backend });
      await coordinator.setSession(tokens);
      coordinator.close();
    } else {
      await pool.query(
        `INSERT INTO ${BASELINE_TABLE} (key, access_token, refresh_token, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET access_token = $2, refresh_token = $3, expires_at = $4`,
        [sessionKey, tokens['access_token'], tokens['refresh_token'], Date.now() + Number(tokens['expires_in']) * 1000],
      );
    }
    return Date.now() + Number(tokens['expires_in']) * 1000;
  }
  async function storedExpiry(): Promise<number> {
    if (contestant === 'tokenherd') {
      const record = await backend.store.read(sessionKey);
      return record?.state === 'active' ? (record.tokens.expiresAt ?? 0) : 0;
    }
    return Number((await pool.query(`SELECT expires_at FROM ${BASELINE_TABLE} WHERE key = $1`, [sessionKey])).rows[0]?.expires_at ?? 0);
  }

  let expiresAt = await signIn();
  const config: NodeWorkerConfig = { contestant, url, sessionKey, issuer: oauth.issuer, tokenEndpoint: oauth.tokenEndpoint, clientId: oauth.clientId, leewaySeconds: LEEWAY_SECONDS };
  const workers = await Promise.all(Array.from({ length: options.replicas }, () => startWorker(config)));
  let id = 0;
  const requestsPerExpiry: number[] = [];
  const errors = new Set<string>();
  let failedCalls = 0;
  const before = oauth.stats();
  try {
    for (let expiry = 0; expiry < options.expiries; expiry++) {
      await untilTime(expiresAt - LEEWAY_SECONDS * 1000 + 20);
      const start = oauth.stats().refreshRequests;
      const at = Date.now() + 150;
      const bursts = await Promise.all(workers.map((w) => w.ask<Extract<NodeWorkerReply, { type: 'burst-done' }>>({ type: 'burst', id: ++id, callers: options.callers, at })));
      requestsPerExpiry.push(oauth.stats().refreshRequests - start);
      console.error(`  ${contestant}: expiry ${expiry + 1}, ${requestsPerExpiry.at(-1)} token requests`);
      const failed = bursts.reduce((n, b) => n + b.failed, 0);
      failedCalls += failed;
      for (const b of bursts) for (const e of b.errors) errors.add(e);
      // A revoked grant ends the session: sign in again so the next expiry measures the same thing.
      expiresAt = failed > 0 ? await signIn() : await storedExpiry();
    }
    // Latency with a valid token: right after a sign-in, well before the next expiry.
    await signIn();
    const samples = await Promise.all(workers.map((w) => w.ask<Extract<NodeWorkerReply, { type: 'latency-done' }>>({ type: 'latency', id: ++id, samples: options.samples })));
    const micros = samples.flatMap((s) => s.micros).sort((a, b) => a - b);
    const after = oauth.stats();
    return {
      contestant,
      requestsPerExpiry,
      failedCalls,
      errors: [...errors],
      invalidGrant: after.invalidGrant - before.invalidGrant,
      grantsRevoked: after.grantsRevoked - before.grantsRevoked,
      p50Micros: Math.round(percentile(micros, 50) * 10) / 10,
      p99Micros: Math.round(percentile(micros, 99) * 10) / 10,
    };
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

export function formatNodeBench(options: NodeBenchOptions, results: readonly NodeBenchResult[]): string {
  const lines = [
    `Node: ${options.replicas} replicas x ${options.callers} callers, ${options.expiries} expiries, ${options.ttlSeconds} s access tokens, PostgreSQL`,
    'contestant     requests/expiry  failed calls  invalid_grant  grants revoked  valid-token call p50 / p99',
  ];
  for (const r of results) {
    lines.push(
      `${r.contestant.padEnd(15)}${r.requestsPerExpiry.join(',').padEnd(17)}${String(r.failedCalls).padEnd(14)}${String(r.invalidGrant).padEnd(15)}` +
        `${String(r.grantsRevoked).padEnd(16)}${r.p50Micros} us / ${r.p99Micros} us${r.errors.length ? `  (${r.errors.join(', ')})` : ''}`,
    );
  }
  return lines.join('\n');
}

/** Runs the section, prints it and writes bench/out/node.json. */
export async function benchNode(options: NodeBenchOptions = NODE_BENCH_DEFAULTS): Promise<void> {
  const results = await runNodeBench(options);
  console.log(formatNodeBench(options, results));
  const out = new URL('./out/', import.meta.url);
  await mkdir(out, { recursive: true });
  await writeFile(new URL('node.json', out), `${JSON.stringify({ options, startedAt: new Date().toISOString(), results }, null, 2)}\n`);
}

function parseNodeOptions(argv: readonly string[]): NodeBenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      replicas: { type: 'string' },
      callers: { type: 'string' },
      expiries: { type: 'string' },
      ttl: { type: 'string' },
      samples: { type: 'string' },
      contestants: { type: 'string' },
    },
  });
  const int = (name: string, text: string | undefined, fallback: number, max: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} takes a whole number from 1 to ${max}, got ${text}`);
    return value;
  };
  const contestants = (values.contestants?.split(',') ?? NODE_BENCH_DEFAULTS.contestants) as Contestant[];
  for (const c of contestants) if (!NODE_BENCH_DEFAULTS.contestants.includes(c)) throw new Error(`unknown contestant ${c}`);
  return {
    replicas: int('replicas', values.replicas, NODE_BENCH_DEFAULTS.replicas, 32),
    callers: int('callers', values.callers, NODE_BENCH_DEFAULTS.callers, 1000),
    expiries: int('expiries', values.expiries, NODE_BENCH_DEFAULTS.expiries, 50),
    ttlSeconds: int('ttl', values.ttl, NODE_BENCH_DEFAULTS.ttlSeconds, 3600),
    samples: int('samples', values.samples, NODE_BENCH_DEFAULTS.samples, 1_000_000),
    contestants,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchNode(parseNodeOptions(process.argv.slice(2)));
}
