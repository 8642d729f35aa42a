import { test, expect } from '@playwright/test';
import * as oauth from 'oauth4webapi';
import { startGateway, upstreamOptionsFor, type Emulation, type Gateway, type GatewayOptions } from './gateway.js';
import { startOAuthServer, type OAuthServer } from './oauth-server.js';

let upstream: OAuthServer | undefined;
let gateway: Gateway | undefined;

async function start(
  emulate: Emulation = 'oidc',
  options: Omit<GatewayOptions, 'upstream' | 'emulate'> = {},
): Promise<{ gw: Gateway; up: OAuthServer }> {
  upstream = await startOAuthServer(upstreamOptionsFor(emulate));
  gateway = await startGateway({ upstream, emulate, ...options });
  return { gw: gateway, up: upstream };
}

test.afterEach(async () => {
  await gateway?.close();
  await upstream?.close();
  gateway = undefined;
  upstream = undefined;
});

function str(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${typeof value}`);
  return value;
}

const FORM = 'application/x-www-form-urlencoded';

/** A refresh request to the gateway as a public client; `form` adds or overrides fields. */
function refresh(gw: Gateway, refreshToken: string, init: { headers?: Record<string, string>; form?: Record<string, string>; signal?: AbortSignal } = {}) {
  return fetch(gw.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': FORM, ...init.headers },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: 'tokenherd-dev', ...init.form }),
    ...(init.signal && { signal: init.signal }),
  });
}

async function refreshJson(gw: Gateway, refreshToken: string, init?: Parameters<typeof refresh>[2]) {
  const response = await refresh(gw, refreshToken, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const invalidGrant = { error: 'invalid_grant', status: 400 };

/** `close()` returns within a second, without waiting for the request `pending`, which fails. */
async function closeCutsOff(gw: Gateway, pending: Promise<Response>): Promise<void> {
  const closingAt = performance.now();
  await gw.close();
  gateway = undefined;
  expect(performance.now() - closingAt).toBeLessThan(1_000);
  await expect(pending).rejects.toThrow('fetch failed');
}

test('without faults the gateway is transparent: discovery names the gateway, refreshes rotate at the upstream', async () => {
  const { gw, up } = await start();
  const issuer = new URL(gw.issuer);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
  expect(as.token_endpoint).toBe(gw.tokenEndpoint);
  expect(str(as.userinfo_endpoint).startsWith(`${gw.issuer}/`)).toBe(true);

  const session = await up.mintSession();
  const response = await oauth.refreshTokenGrantRequest(as, { client_id: up.clientId }, oauth.None(), str(session['refresh_token']), {
    [oauth.allowInsecureRequests]: true,
  });
  expect(response.status).toBe(200);
  const rotated = (await response.json()) as Record<string, unknown>;
  expect(rotated['refresh_token']).not.toBe(session['refresh_token']);
  expect(await up.accessTokenValid(str(rotated['access_token']))).toBe(true);

  const userinfo = await fetch(str(as.userinfo_endpoint), { headers: { authorization: `Bearer ${str(rotated['access_token'])}` } });
  expect(userinfo.status).toBe(200);
  expect(await userinfo.json()).toEqual({ sub: 'demo-user' });
  expect(gw.stats()).toEqual({ requests: 3, refreshRequests: 1, forwarded: 1, consumed: 1, invalidGrant: 0, abandoned: 0, replayed: 0, grantsRevoked: 0 });
  expect(up.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 1 });
});

test('faults are taken in order, one per refresh request; other requests do not take any', async () => {
  const { gw, up } = await start();
  let token = str((await up.mintSession())['refresh_token']);
  gw.script({ delayMs: 300 }, { status: 503 });
  expect((await fetch(`${gw.issuer}/.well-known/openid-configuration`)).status).toBe(200);

  const startedAt = performance.now();
  const delayed = await refreshJson(gw, token);
  expect(performance.now() - startedAt).toBeGreaterThanOrEqual(300);
  expect(delayed.status).toBe(200);
  token = str(delayed.body['refresh_token']);
  expect((await refresh(gw, token)).status).toBe(503);
  expect((await refresh(gw, token)).status).toBe(200);
  expect(gw.stats()).toMatchObject({ requests: 4, refreshRequests: 3, forwarded: 2, consumed: 2 });
});

test('reset: the connection drops before the provider sees the request', async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  gw.script('reset');

  await expect(refresh(gw, str(session['refresh_token']))).rejects.toThrow('fetch failed');
  expect(up.stats().refreshRequests).toBe(0);
  expect((await refresh(gw, str(session['refresh_token']))).status).toBe(200);
  expect(gw.stats()).toMatchObject({ refreshRequests: 2, forwarded: 1, consumed: 1 });
});

test('5xx and 429 with Retry-After come from the gateway and leave the token unused', async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  const as: oauth.AuthorizationServer = { issuer: gw.issuer, token_endpoint: gw.tokenEndpoint };
  const send = () =>
    oauth.refreshTokenGrantRequest(as, { client_id: up.clientId }, oauth.None(), str(session['refresh_token']), {
      [oauth.allowInsecureRequests]: true,
    });
  gw.script({ status: 429, retryAfter: '7' }, { status: 500 });

  const limited = await send();
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('7');
  expect(limited.headers.get('cache-control')).toBe('no-store');
  const failed = await send();
  expect(failed.status).toBe(500);
  expect(failed.headers.get('retry-after')).toBeNull();
  expect(up.stats().refreshRequests).toBe(0);
  expect((await send()).status).toBe(200);
  expect(gw.stats()).toMatchObject({ refreshRequests: 3, forwarded: 1, consumed: 1 });
});

test('forward then reset: the refresh token rotates at the upstream but the answer is lost', async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  gw.script({ forward: true, then: 'reset' });

  await expect(refresh(gw, str(session['refresh_token']))).rejects.toThrow('fetch failed');
  expect(gw.stats()).toMatchObject({ refreshRequests: 1, forwarded: 1, consumed: 1, grantsRevoked: 0 });
  // The client still holds the old token; sending it again is a reuse, and oidc-provider revokes the grant.
  await expect(up.refreshOutside(str(session['refresh_token']))).rejects.toMatchObject(invalidGrant);
  expect(gw.stats().grantsRevoked).toBe(1);
});

test('forward then a replaced answer: the client sees the replacement, the token has rotated', async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  gw.script({ forward: true, then: { status: 502, body: { error: 'server_error' } } }, { forward: true, then: { status: 500 } });

  const replaced = await refreshJson(gw, str(session['refresh_token']));
  expect(replaced).toEqual({ status: 502, body: { error: 'server_error' } });
  const plain = await refresh(gw, str(session['refresh_token']));
  expect(plain.status).toBe(500);
  expect(await plain.text()).toBe('Internal Server Error');
  // The second forward was a reuse of the consumed token: the upstream rejected it and revoked the grant.
  expect(gw.stats()).toMatchObject({ forwarded: 2, consumed: 1, invalidGrant: 1, grantsRevoked: 1 });
});

test("hang: bounded by the client's AbortSignal, and close() ends hung requests promptly", async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  gw.script('hang', { forward: true, then: 'hang' });

  await expect(refresh(gw, str(session['refresh_token']), { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({
    name: 'TimeoutError',
  });
  expect(gw.stats()).toMatchObject({ refreshRequests: 1, forwarded: 0 });

  const hung = refresh(gw, str(session['refresh_token']));
  await expect.poll(() => gw.stats().consumed).toBe(1);
  await closeCutsOff(gw, hung);
});

test('a delayed request whose client left meanwhile never reaches the upstream', async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  gw.script({ delayMs: 300 });

  await expect(refresh(gw, str(session['refresh_token']), { signal: AbortSignal.timeout(50) })).rejects.toMatchObject({
    name: 'TimeoutError',
  });
  await expect.poll(() => gw.stats().abandoned).toBe(1);
  expect(gw.stats()).toMatchObject({ refreshRequests: 1, forwarded: 0 });
  expect(up.stats().refreshRequests).toBe(0);
  expect((await refresh(gw, str(session['refresh_token']))).status).toBe(200);
});

test('close() cancels a delayed request before it reaches the upstream', async () => {
  const { gw, up } = await start();
  const session = await up.mintSession();
  gw.script({ delayMs: 60_000 });

  const delayed = refresh(gw, str(session['refresh_token']));
  await expect.poll(() => gw.stats().refreshRequests).toBe(1);
  await closeCutsOff(gw, delayed);
  expect(up.stats().refreshRequests).toBe(0);
});

test('CORS: allowed origins may read what the gateway answers itself, Retry-After included', async () => {
  // The upstream knows neither origin: on the token endpoint only the gateway's policy counts.
  const allowed = 'http://localhost:4173';
  const other = 'http://evil.example';
  const { gw, up } = await start('oidc', { corsOrigins: [allowed] });
  const preflight = (origin: string) =>
    fetch(gw.tokenEndpoint, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,dpop' },
    });

  const granted = await preflight(allowed);
  expect(granted.status).toBe(204);
  expect(granted.headers.get('access-control-allow-origin')).toBe(allowed);
  expect(granted.headers.get('access-control-allow-methods')).toBe('POST');
  expect(granted.headers.get('access-control-allow-headers')).toBe('authorization,dpop');
  expect((await preflight(other)).headers.get('access-control-allow-origin')).toBeNull();

  gw.script({ status: 429, retryAfter: '3' });
  const limited = await refresh(gw, 'unused', { headers: { origin: allowed } });
  expect(limited.status).toBe(429);
  expect(limited.headers.get('access-control-allow-origin')).toBe(allowed);
  expect(limited.headers.get('access-control-expose-headers')).toBe('Retry-After');
  expect(limited.headers.get('vary')).toBe('Origin');

  const session = await up.mintSession();
  const refreshed = await refresh(gw, str(session['refresh_token']), { headers: { origin: allowed } });
  expect(refreshed.status).toBe(200);
  expect(refreshed.headers.get('access-control-allow-origin')).toBe(allowed);
  const refused = await refresh(gw, 'unknown', { headers: { origin: other } });
  expect(refused.status).toBe(400);
  expect(refused.headers.get('access-control-allow-origin')).toBeNull();

  const discovery = await fetch(`${gw.issuer}/.well-known/openid-configuration`, { headers: { origin: allowed } });
  expect(discovery.headers.get('access-control-allow-origin')).toBe(allowed);
});

test('github: 8 h / 6 month lifetimes, JSON only when accepted, the old access token dies at rotation', async () => {
  const { gw, up } = await start('github', { clientSecret: 's3cret' });
  const session = await gw.mintSession();
  expect(session).toEqual({
    access_token: expect.any(String),
    expires_in: 28_800,
    refresh_token: expect.any(String),
    refresh_token_expires_in: 15_897_600,
    scope: 'openid offline_access',
    token_type: 'bearer',
  });

  const json = await refresh(gw, str(session['refresh_token']), {
    headers: { accept: 'application/json' },
    form: { client_secret: 's3cret' },
  });
  expect(json.headers.get('content-type')).toContain('application/json');
  const rotated = (await json.json()) as Record<string, unknown>;
  expect(rotated).toMatchObject({ expires_in: 28_800, refresh_token_expires_in: 15_897_600, token_type: 'bearer' });
  expect(await up.accessTokenValid(str(session['access_token']))).toBe(false);
  expect(await up.accessTokenValid(str(rotated['access_token']))).toBe(true);

  // Basic auth, and no JSON in Accept: a form-encoded answer, as GitHub sends by default.
  const form = await refresh(gw, str(rotated['refresh_token']), {
    headers: { authorization: `Basic ${Buffer.from('tokenherd-dev:s3cret').toString('base64')}` },
  });
  expect(form.headers.get('content-type')).toContain(FORM);
  const again = new URLSearchParams(await form.text());
  expect(again.get('token_type')).toBe('bearer');
  expect(again.get('expires_in')).toBe('28800');
  expect(await up.accessTokenValid(str(rotated['access_token']))).toBe(false);
  expect(await up.accessTokenValid(str(again.get('access_token')))).toBe(true);
  expect(gw.stats()).toMatchObject({ forwarded: 2, consumed: 2, invalidGrant: 0 });
});

test('github: reuse is answered bad_refresh_token in HTTP 200 and revokes nothing', async () => {
  const { gw, up } = await start('github');
  const first = await gw.mintSession();
  const accept = { accept: 'application/json' };
  const rotated = await refreshJson(gw, str(first['refresh_token']), { headers: accept });
  expect(rotated.status).toBe(200);

  expect(await refreshJson(gw, str(first['refresh_token']), { headers: accept })).toEqual({
    status: 200,
    body: { error: 'bad_refresh_token', error_description: 'The refresh token passed is incorrect or expired.' },
  });
  const formError = await refresh(gw, str(first['refresh_token']));
  expect(formError.status).toBe(200);
  expect(new URLSearchParams(await formError.text()).get('error')).toBe('bad_refresh_token');
  expect(gw.stats()).toMatchObject({ forwarded: 3, consumed: 1, invalidGrant: 2, grantsRevoked: 0 });
  expect(await up.accessTokenValid(str(rotated.body['access_token']))).toBe(true);
  expect((await refreshJson(gw, str(rotated.body['refresh_token']), { headers: accept })).body).toHaveProperty('access_token');
});

test('github: a missing or wrong client secret is refused in HTTP 200 before the upstream', async () => {
  const { gw, up } = await start('github', { clientSecret: 's3cret' });
  const session = await gw.mintSession();
  const token = str(session['refresh_token']);
  const refusal = {
    status: 200,
    body: { error: 'incorrect_client_credentials', error_description: 'The client_id and/or client_secret passed are incorrect.' },
  };
  const accept = { accept: 'application/json' };

  expect(await refreshJson(gw, token, { headers: accept })).toEqual(refusal);
  expect(await refreshJson(gw, token, { headers: accept, form: { client_secret: 'wrong' } })).toEqual(refusal);
  expect(up.stats().refreshRequests).toBe(0);

  // oauth4webapi's client_secret_basic encoding is understood.
  const as: oauth.AuthorizationServer = { issuer: gw.issuer, token_endpoint: gw.tokenEndpoint };
  const response = await oauth.refreshTokenGrantRequest(as, { client_id: up.clientId }, oauth.ClientSecretBasic('s3cret'), token, {
    [oauth.allowInsecureRequests]: true,
    headers: accept,
  });
  expect(await response.json()).toHaveProperty('access_token');
  expect(gw.stats()).toMatchObject({ refreshRequests: 3, forwarded: 1, consumed: 1 });
});

test('a client secret needs the github emulation', async () => {
  upstream = await startOAuthServer();
  await expect(startGateway({ upstream, clientSecret: 's3cret' })).rejects.toThrow("clientSecret needs emulate: 'github'");
});

test('grace: a lost answer is recovered within the window; reuse after it revokes the grant', async () => {
  const graceSeconds = 30;
  let clock = Date.now();
  const { gw, up } = await start({ graceSeconds }, { now: () => clock });
  const session = await up.mintSession();
  const firstUseAt = clock;
  gw.script({ forward: true, then: 'reset' });
  await expect(refresh(gw, str(session['refresh_token']))).rejects.toThrow('fetch failed');

  clock = firstUseAt + graceSeconds * 1000 - 1;
  const recovered = await refreshJson(gw, str(session['refresh_token']));
  expect(recovered.status).toBe(200);
  const again = await refreshJson(gw, str(session['refresh_token']));
  expect(again.status).toBe(200);
  expect(again.body['access_token']).not.toBe(recovered.body['access_token']); // fresh tokens, not a replay
  expect(gw.stats()).toMatchObject({ refreshRequests: 3, forwarded: 3, consumed: 3, replayed: 2 });
  expect(await up.accessTokenValid(str(recovered.body['access_token']))).toBe(true);
  expect(await up.accessTokenValid(str(again.body['access_token']))).toBe(true);
  const next = await refreshJson(gw, str(again.body['refresh_token']));
  expect(next.status).toBe(200);

  clock = firstUseAt + graceSeconds * 1000;
  expect(await refreshJson(gw, str(session['refresh_token']))).toEqual({
    status: 400,
    body: expect.objectContaining({ error: 'invalid_grant' }),
  });
  expect(gw.stats()).toMatchObject({ forwarded: 5, consumed: 4, invalidGrant: 1, grantsRevoked: 1 });
  expect(await up.accessTokenValid(str(next.body['access_token']))).toBe(false);
});

test('non-rotating: the same refresh token keeps working and answers carry none', async () => {
  const { gw, up } = await start('non-rotating');
  const session = await gw.mintSession();
  const token = str(session['refresh_token']);

  const answers = [await refreshJson(gw, token), await refreshJson(gw, token), await refreshJson(gw, token)];
  for (const { status, body } of answers) {
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('refresh_token');
    expect(await up.accessTokenValid(str(body['access_token']))).toBe(true);
  }
  expect(await up.accessTokenValid(str(session['access_token']))).toBe(true);
  expect(gw.stats()).toMatchObject({ forwarded: 3, consumed: 0, invalidGrant: 0, grantsRevoked: 0 });
  expect(up.stats()).toMatchObject({ refreshSucceeded: 3 });
});
