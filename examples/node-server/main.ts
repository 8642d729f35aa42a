/**
 * A multi-replica HTTP server that calls a provider API per user through
 * `coordinator.fetch`, sharing users' sessions in PostgreSQL.
 *
 *   npx tsx examples/node-server/main.ts              # serve until Ctrl-C
 *   npx tsx examples/node-server/main.ts --self-test  # load it across 3 expiries, check, exit
 *
 * The primary process starts what a real deployment already has: PostgreSQL (a
 * private cluster, or DATABASE_URL) and the provider (the embedded oidc-provider,
 * 4 s access tokens). It links two users, then forks REPLICAS processes that share
 * one port (node:cluster). Each replica keeps one coordinator per user.
 */
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import pg from 'pg';
import { startOAuthServer } from '../../dev/oauth-server.js';
import { startPostgres } from '../../dev/postgres.js';
// In an application: from 'tokenherd/node'.
import { createPostgresBackend, createTokenCoordinator, migratePostgres, type TokenCoordinator } from '../../src/node/index.js';

const REPLICAS = Number(process.env['REPLICAS'] ?? 2);
const PORT = Number(process.env['PORT'] ?? 8080);
const USERS = ['alice', 'bob'];
const ACCESS_TOKEN_TTL_SECONDS = 4;
const LEEWAY_SECONDS = 1;

interface Shared {
  databaseUrl: string;
  issuer: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  clientId: string;
}

async function replica(shared: Shared): Promise<void> {
  const pool = new pg.Pool({ connectionString: shared.databaseUrl, max: 10 });
  pool.on('error', () => {}); // an idle connection lost (database restart): the next query reconnects
  const backend = createPostgresBackend({ pool });
  const coordinators = new Map<string, TokenCoordinator>();
  const coordinatorOf = (user: string): TokenCoordinator => {
    let coordinator = coordinators.get(user);
    if (!coordinator) {
      coordinator = createTokenCoordinator({
        sessionKey: `provider:${user}`,
        issuer: shared.issuer,
        tokenEndpoint: shared.tokenEndpoint,
        client: { client_id: shared.clientId },
        allowInsecureRequests: true, // the embedded provider speaks http on 127.0.0.1
        refreshLeewaySeconds: LEEWAY_SECONDS,
        backend,
      });
      coordinators.set(user, coordinator);
    }
    return coordinator;
  };

  createServer((req, res) => {
    const user = /^\/users\/([a-z]+)\/profile$/.exec(req.url ?? '')?.[1];
    if (!user) return void res.writeHead(404).end();
    // The provider API, called with the user's current access token; one refresh per expiry across all replicas.
    coordinatorOf(user)
      .fetch(shared.userinfoEndpoint)
      .then(async (response) => {
        res.writeHead(response.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ replica: process.pid, profile: await response.json() }));
      })
      .catch((error: { code?: string; message: string }) => {
        // NOT_SIGNED_IN / SESSION_EXPIRED: the user must link the account again; TRANSIENT: try later.
        res.writeHead(error.code === 'TRANSIENT' ? 503 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: error.code, message: error.message }));
      });
  }).listen(PORT, '127.0.0.1');
}

async function primary(): Promise<void> {
  const cluster_ = process.env['DATABASE_URL'] ? undefined : await startPostgres();
  const databaseUrl = process.env['DATABASE_URL'] ?? cluster_!.url;
  const oauth = await startOAuthServer({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
  const pool = new pg.Pool({ connectionString: databaseUrl });
  await migratePostgres(pool); // explicit: the backend never changes the schema itself
  const backend = createPostgresBackend({ pool });
  const shared: Shared = { databaseUrl, issuer: oauth.issuer, tokenEndpoint: oauth.tokenEndpoint, userinfoEndpoint: oauth.userinfoEndpoint, clientId: oauth.clientId };
  // "Link the account": what an OAuth callback handler would store after the code exchange.
  for (const user of USERS) {
    const linking = createTokenCoordinator({ sessionKey: `provider:${user}`, issuer: oauth.issuer, client: { client_id: oauth.clientId }, allowInsecureRequests: true, backend });
    await linking.setSession(await oauth.mintSession(user));
    linking.close();
  }
  const workers = Array.from({ length: REPLICAS }, () => cluster.fork({ TOKENHERD_SHARED: JSON.stringify(shared) }));
  await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('listening', resolve))));
  console.log(`${REPLICAS} replicas on http://127.0.0.1:${PORT}; try: curl http://127.0.0.1:${PORT}/users/alice/profile`);

  const shutdown = async (code: number): Promise<never> => {
    for (const worker of workers) worker.kill();
    await backend.close();
    await pool.end();
    await oauth.close();
    await cluster_?.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  if (!process.argv.includes('--self-test')) return;

  // Rounds of 100 concurrent requests per user, each once the tokens just used are stale.
  const rounds = 3;
  const started = Date.now();
  let failures = 0;
  for (let round = 0; round < rounds; round++) {
    const responses = await Promise.all(
      Array.from({ length: 100 * USERS.length }, (_, i) => fetch(`http://127.0.0.1:${PORT}/users/${USERS[i % USERS.length]}/profile`)),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<{ replica?: number }>;
    failures += responses.filter((r) => r.status !== 200).length;
    const replicas = new Set(bodies.map((b) => b.replica)).size;
    console.log(`round ${round + 1}: ${responses.length} requests, served by ${replicas} replicas, refreshes so far ${oauth.stats().refreshRequests}`);
    await new Promise((resolve) => setTimeout(resolve, (ACCESS_TOKEN_TTL_SECONDS - LEEWAY_SECONDS) * 1000 + 100));
  }
  const stats = oauth.stats();
  // A second refresh of one token would be a reuse: invalid_grant, and the grant revoked. And a user
  // needs at most one refresh per token lifetime that began during the run.
  const lifetimes = Math.floor((Date.now() - started) / ((ACCESS_TOKEN_TTL_SECONDS - LEEWAY_SECONDS) * 1000)) + 1;
  const ok =
    failures === 0 &&
    stats.invalidGrant === 0 &&
    stats.grantsRevoked === 0 &&
    stats.refreshSucceeded === stats.refreshRequests &&
    stats.refreshRequests <= lifetimes * USERS.length;
  console.log(
    `${ok ? 'PASS' : 'FAIL'}: ${stats.refreshRequests} refreshes (at most ${lifetimes} token lifetimes x ${USERS.length} users), ` +
      `${stats.invalidGrant} invalid_grant, ${stats.grantsRevoked} grants revoked, ${failures} failed requests`,
  );
  await shutdown(ok ? 0 : 1);
}

if (cluster.isPrimary) await primary();
else await replica(JSON.parse(process.env['TOKENHERD_SHARED'] ?? '') as Shared);
