import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startOAuthServer } from './oauth-server.js';
import type { TokenRequestEntry } from './token-request-log.js';

const dir = mkdtempSync(join(tmpdir(), 'tokenherd-oauth-cli-test-'));
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('with a grants file, a session outlives a restart on the same port; without it, its refresh token is unknown', async () => {
  const grantsFile = join(dir, 'grants.json');
  const first = await startOAuthServer({ grantsFile });
  const port = Number(new URL(first.issuer).port);
  const session = await first.mintSession();
  await first.close();

  const again = await startOAuthServer({ port, grantsFile });
  const refreshed = await again.refreshOutside(String(session['refresh_token']));
  expect(await again.accessTokenValid(String(refreshed['access_token']))).toBe(true);
  await again.close();

  const forgetful = await startOAuthServer({ port });
  await expect(forgetful.refreshOutside(String(refreshed['refresh_token']))).rejects.toMatchObject({ error: 'invalid_grant' });
  await forgetful.close();
});

test('every token request is reported: its grant, outcome and refresh-token generation, reuse named', async () => {
  const entries: TokenRequestEntry[] = [];
  const server = await startOAuthServer({ onTokenRequest: (entry) => entries.push(entry) });
  const session = await server.mintSession(); // the minted token (generation 1) is refreshed once
  const next = await server.refreshOutside(String(session['refresh_token']));
  await expect(server.refreshOutside(String(session['refresh_token']))).rejects.toMatchObject({ error: 'invalid_grant' });
  await expect(server.refreshOutside(String(next['refresh_token']))).rejects.toMatchObject({ error: 'invalid_grant' }); // revoked with its grant
  await server.close();
  expect(entries).toEqual([
    { grantType: 'refresh_token', status: 200, generation: 2 },
    { grantType: 'refresh_token', status: 200, generation: 3 },
    { grantType: 'refresh_token', status: 400, error: 'invalid_grant', generation: 2, reused: true },
    { grantType: 'refresh_token', status: 400, error: 'invalid_grant' },
  ]);
});

/** Runs the CLI; resolves with what it printed once it says it is ready, and a function that stops it. */
function runCli(args: string[]): Promise<{ output: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/oauth-server-cli.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Press Ctrl+C')) resolve({ output: () => output, stop: () => (child.kill('SIGTERM'), exited) });
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    void exited.then((code) => reject(new Error(`the CLI exited (${code}) before it was ready:\n${output}`)));
  });
}

test('npm run oauth-server: registers the app, prints what it is and does, logs token requests, says loudly that port 0 keeps no grants', async () => {
  const cli = await runCli(['--port', '0', '--redirect-uri', 'http://127.0.0.1:5555/callback', '--origin', 'http://127.0.0.1:6666', '--access-token-ttl', '30']);
  const issuer = /issuer: +(\S+)/.exec(cli.output())?.[1] ?? '';
  expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(cli.output()).toContain('client id:       tokenherd-dev');
  expect(cli.output()).toContain('openid offline_access');
  expect(cli.output()).toContain('access tokens live 30 s');
  expect(cli.output()).toContain('its whole grant revoked');
  expect(cli.output()).toContain('GRANTS ARE NOT KEPT');

  const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
  // Both the --origin and the redirect URI's origin may call the token endpoint from a page.
  for (const origin of ['http://127.0.0.1:6666', 'http://127.0.0.1:5555']) {
    const preflight = await fetch(discovery.token_endpoint, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
  }
  const refused = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'unknown', client_id: 'tokenherd-dev' }),
  });
  expect(refused.status).toBe(400);
  await expect.poll(() => cli.output()).toMatch(/token request refresh_token: refused 400 invalid_grant, generation unknown/);
  expect(await cli.stop()).toBe(0);
});

test('npm run oauth-server without --redirect-uri stops with the usage', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'dev/oauth-server-cli.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  expect(await new Promise((resolve) => child.once('exit', resolve))).toBe(2);
  expect(errors).toContain('--redirect-uri is required');
  expect(errors).toContain('usage: npm run oauth-server');
});
