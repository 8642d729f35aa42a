/**
 * Runs the CLI as 8 parallel processes at each of 3 expiries against the embedded
 * provider (5 s access tokens), then checks that no refresh token was used twice:
 *
 *   npx tsx examples/node-cli/demo.ts
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startOAuthServer } from '../../dev/oauth-server.js';
import { createTokenCoordinator } from '../../src/node/index.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));
const TTL_SECONDS = 5;
const PROCESSES = 8;
const ROUNDS = 3;

const oauth = await startOAuthServer({ accessTokenTtlSeconds: TTL_SECONDS });
const directory = await mkdtemp(join(tmpdir(), 'tokenherd-cli-'));
try {
  await writeFile(
    join(directory, 'config.json'),
    JSON.stringify({ issuer: oauth.issuer, tokenEndpoint: oauth.tokenEndpoint, userinfoEndpoint: oauth.userinfoEndpoint, clientId: oauth.clientId }),
  );
  // "login": what the CLI's sign-in command would store after the code exchange.
  const login = createTokenCoordinator({ sessionKey: 'default', issuer: oauth.issuer, client: { client_id: oauth.clientId }, allowInsecureRequests: true, directory });
  await login.setSession(await oauth.mintSession('cli-user'));

  const started = Date.now();
  let failures = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Start the round once the stored token is stale, so one of the processes must refresh it.
    await login.reload();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, login.getState().expiresAt! - 1000 - Date.now())));
    const results = await Promise.allSettled(Array.from({ length: PROCESSES }, () => run(process.execPath, ['--import', 'tsx', CLI, directory, 'profile'])));
    failures += results.filter((r) => r.status === 'rejected').length;
    for (const result of results) if (result.status === 'fulfilled') process.stdout.write(result.value.stdout);
    console.log(`round ${round + 1}: ${PROCESSES} processes, refreshes so far ${oauth.stats().refreshRequests}`);
  }
  const stats = oauth.stats();
  const lifetimes = Math.floor((Date.now() - started) / ((TTL_SECONDS - 1) * 1000)) + 1;
  const ok = failures === 0 && stats.invalidGrant === 0 && stats.grantsRevoked === 0 && stats.refreshRequests <= lifetimes;
  console.log(
    `${ok ? 'PASS' : 'FAIL'}: ${stats.refreshRequests} refreshes for ${ROUNDS} rounds of ${PROCESSES} processes, ` +
      `${stats.invalidGrant} invalid_grant, ${stats.grantsRevoked} grants revoked, ${failures} failed processes`,
  );
  process.exitCode = ok ? 0 : 1;
  login.close();
} finally {
  await rm(directory, { recursive: true, force: true });
  await oauth.close();
}
