import { setTimeout as sleep } from 'node:timers/promises';
import { test, expect } from '@playwright/test';
import * as oauth from 'oauth4webapi';
import { authorizationRequest } from './authorization-request.js';
import {
  startOAuthServer,
  type OAuthServer,
  type OAuthServerOptions,
  type RefreshRequestInfo,
} from './oauth-server.js';

let server: OAuthServer | undefined;

async function start(options?: OAuthServerOptions): Promise<OAuthServer> {
  server = await startOAuthServer(options);
  return server;
}

test.afterEach(async () => {
  await server?.close();
  server = undefined;
});

function str(value: unknown): string {
  if (typeof value !== 'string') throw new Error(`expected a string, got ${typeof value}`);
  return value;
}

const invalidGrant = { error: 'invalid_grant', status: 400 };

test('mintSession gives a working session whose refresh token rotates', async () => {
  const s = await start();
  const session = await s.mintSession();
  expect(session).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'openid offline_access' });
  expect(await s.accessTokenValid(str(session['access_token']))).toBe(true);
  expect(s.stats().refreshRequests).toBe(0);

  const rotated = await s.refreshOutside(str(session['refresh_token']));
  expect(str(rotated['refresh_token'])).not.toBe(session['refresh_token']);
  expect(await s.accessTokenValid(str(rotated['access_token']))).toBe(true);
  expect(s.stats()).toEqual({
    refreshRequests: 1,
    refreshSucceeded: 1,
    invalidGrant: 0,
    grantsRevoked: 0,
    maxConcurrentRefreshes: 1,
    refreshAbandoned: 0,
  });
  s.resetStats();
  expect(s.stats().refreshRequests).toBe(0);
});

test("reuse 'revoke': reusing a consumed refresh token kills the whole grant", async () => {
  const s = await start({ reuse: 'revoke' });
  const first = await s.mintSession();
  const newest = await s.refreshOutside(str(first['refresh_token']));

  await expect(s.refreshOutside(str(first['refresh_token']))).rejects.toMatchObject(invalidGrant);
  expect(s.stats()).toMatchObject({ refreshRequests: 2, refreshSucceeded: 1, invalidGrant: 1, grantsRevoked: 1 });
  expect(await s.accessTokenValid(str(newest['access_token']))).toBe(false);
  await expect(s.refreshOutside(str(newest['refresh_token']))).rejects.toMatchObject(invalidGrant);
});

test("reuse 'reject': reusing a consumed refresh token fails but the grant lives on", async () => {
  const s = await start({ reuse: 'reject' });
  const seen: RefreshRequestInfo[] = [];
  s.onRefreshRequest((info) => {
    seen.push(info);
  });
  const first = await s.mintSession();
  const newest = await s.refreshOutside(str(first['refresh_token']));

  await expect(s.refreshOutside(str(first['refresh_token']))).rejects.toMatchObject(invalidGrant);
  expect(seen.map((info) => info.consumed)).toEqual([false, true]);
  expect(await s.accessTokenValid(str(newest['access_token']))).toBe(true);
  const next = await s.refreshOutside(str(newest['refresh_token']));
  expect(await s.accessTokenValid(str(next['access_token']))).toBe(true);
  expect(s.stats()).toMatchObject({ refreshRequests: 3, refreshSucceeded: 2, invalidGrant: 1, grantsRevoked: 0 });
});

/** The resource server's own answer, which depends on the clock. */
async function userinfoStatus(s: OAuthServer, accessToken: string): Promise<number> {
  const response = await fetch(s.userinfoEndpoint, { headers: { authorization: `Bearer ${accessToken}` } });
  await response.body?.cancel();
  return response.status;
}

test('an expired access token is refused at userinfo but still counts as valid (issued, not revoked); its refresh token still works', async () => {
  const s = await start({ accessTokenTtlSeconds: 2 });
  const session = await s.mintSession();
  const receivedAt = Date.now();
  const expiresIn = Number(session['expires_in']);
  expect(expiresIn).toBeGreaterThan(0);
  expect(expiresIn).toBeLessThanOrEqual(2);
  const accessToken = str(session['access_token']);
  expect(await userinfoStatus(s, accessToken)).toBe(200);

  await sleep(Math.max(0, receivedAt + expiresIn * 1000 - Date.now()));
  await expect.poll(() => userinfoStatus(s, accessToken), { timeout: 2_000, intervals: [100] }).toBe(401);
  expect(await s.accessTokenValid(accessToken)).toBe(true);
  const renewed = await s.refreshOutside(str(session['refresh_token']));
  expect(await userinfoStatus(s, str(renewed['access_token']))).toBe(200);
});

test('accessTokenValid is false for a token the server never issued and for a revoked one', async () => {
  const s = await start();
  const accessToken = str((await s.mintSession())['access_token']);
  expect(await s.accessTokenValid(accessToken)).toBe(true);
  expect(await s.accessTokenValid(`${accessToken}x`)).toBe(false);
  await s.revokeAccessToken(accessToken);
  expect(await s.accessTokenValid(accessToken)).toBe(false);
  expect(await userinfoStatus(s, accessToken)).toBe(401);
});

test('CORS: allowed origins get Access-Control-Allow-Origin, others do not', async () => {
  const extraOrigin = 'http://localhost:4173';
  const redirectOrigin = 'http://127.0.0.1:5173';
  const s = await start({ corsOrigins: [extraOrigin] });
  const session = await s.mintSession();
  const refreshFrom = (origin: string) =>
    fetch(s.tokenEndpoint, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: str(session['refresh_token']),
        client_id: s.clientId,
      }),
    });
  const userinfoFrom = (origin: string) =>
    fetch(s.userinfoEndpoint, { headers: { origin, authorization: `Bearer ${str(session['access_token'])}` } });

  const refused = await refreshFrom('http://evil.example');
  expect(refused.status).toBe(400);
  expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  expect((await userinfoFrom('http://evil.example')).headers.get('access-control-allow-origin')).toBeNull();

  const preflight = await fetch(s.userinfoEndpoint, {
    method: 'OPTIONS',
    headers: {
      origin: redirectOrigin,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    },
  });
  expect(preflight.headers.get('access-control-allow-origin')).toBe(redirectOrigin);
  expect(preflight.headers.get('access-control-allow-headers')).toBe('authorization');
  const userinfo = await userinfoFrom(redirectOrigin);
  expect(userinfo.status).toBe(200);
  expect(userinfo.headers.get('access-control-allow-origin')).toBe(redirectOrigin);

  // The refused request never reached the grant: the refresh token is still unused.
  const allowed = await refreshFrom(extraOrigin);
  expect(allowed.status).toBe(200);
  expect(allowed.headers.get('access-control-allow-origin')).toBe(extraOrigin);
});

test('onRefreshRequest holds a request while another party rotates the token', async () => {
  const s = await start();
  const session = await s.mintSession();
  const seen: RefreshRequestInfo[] = [];
  let arrive = () => {};
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  s.onRefreshRequest(async (info) => {
    seen.push(info);
    if (seen.length === 1) {
      arrive();
      await released;
    }
  });

  const held = s.refreshOutside(str(session['refresh_token']));
  await arrived;
  expect(s.stats()).toMatchObject({ refreshRequests: 1, refreshSucceeded: 0, maxConcurrentRefreshes: 1 });
  const winner = await s.refreshOutside(str(session['refresh_token']));
  expect(s.stats()).toMatchObject({ refreshRequests: 2, refreshSucceeded: 1, maxConcurrentRefreshes: 2 });

  release();
  await expect(held).rejects.toMatchObject(invalidGrant);
  expect(seen.map(({ refreshToken, consumed }) => ({ refreshToken, consumed }))).toEqual([
    { refreshToken: session['refresh_token'], consumed: false },
    { refreshToken: session['refresh_token'], consumed: false },
  ]);
  expect(s.stats()).toMatchObject({ invalidGrant: 1, grantsRevoked: 1 });
  expect(await s.accessTokenValid(str(winner['access_token']))).toBe(false);

  s.onRefreshRequest(undefined);
  await s.refreshOutside(str((await s.mintSession())['refresh_token']));
  expect(seen).toHaveLength(2);
});

test('onRefreshRequest tells when the client has gone; such a request never reaches the provider', async () => {
  const s = await start();
  const session = await s.mintSession();
  const client = new AbortController();
  let gone = false;
  s.onRefreshRequest(async ({ clientGone }) => {
    client.abort();
    await clientGone;
    gone = true;
  });
  await expect(
    fetch(s.tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: str(session['refresh_token']), client_id: s.clientId }),
      signal: client.signal,
    }),
  ).rejects.toThrow();
  await expect.poll(() => s.stats().refreshAbandoned).toBe(1);
  expect(gone).toBe(true);
  expect(s.stats().refreshSucceeded).toBe(0);
  s.onRefreshRequest(undefined);
  expect(await s.refreshOutside(str(session['refresh_token']))).toHaveProperty('access_token');
});

/** A fetch-driven user agent that keeps cookies and follows redirects until they leave for the client. */
function createUserAgent(redirectUri: string) {
  const jar = new Map<string, string>();

  async function send(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('cookie', [...jar].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      const value = pair.slice(at + 1);
      if (value) jar.set(pair.slice(0, at), value);
      else jar.delete(pair.slice(0, at));
    }
    return response;
  }

  return async function navigate(start: string, init?: RequestInit): Promise<{ url: string; html: string }> {
    let url = start;
    let response = await send(url, init);
    while (response.status >= 300 && response.status < 400) {
      url = new URL(str(response.headers.get('location')), url).href;
      if (url.startsWith(redirectUri)) return { url, html: '' };
      response = await send(url);
    }
    expect(response.status).toBe(200);
    return { url, html: await response.text() };
  };
}

/** Submits the page's only form with its hidden `prompt` field plus `fields`. */
function submitForm(page: { url: string; html: string }, fields: Record<string, string>): [string, RequestInit] {
  const action = str(/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1]);
  const prompt = str(/name="prompt" value="([^"]+)"/.exec(page.html)?.[1]);
  return [
    new URL(action, page.url).href,
    { method: 'POST', body: new URLSearchParams({ prompt, ...fields }) },
  ];
}

test('authorization code + PKCE through the devInteractions login and consent pages', async () => {
  const redirectUri = 'http://127.0.0.1:5173/';
  const s = await start({ redirectUris: [redirectUri] });
  const issuer = new URL(s.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }),
  );
  expect(as.token_endpoint).toBe(s.tokenEndpoint);
  const client: oauth.Client = { client_id: s.clientId };
  const { url: authorize, verifier, state } = await authorizationRequest(str(as.authorization_endpoint), s.clientId, redirectUri);
  const navigate = createUserAgent(redirectUri);

  const login = await navigate(authorize.href);
  expect(login.html).toContain('name="login"');
  const consent = await navigate(...submitForm(login, { login: 'alice', password: 'anything' }));
  expect(consent.html).toContain('value="consent"');
  const callback = await navigate(...submitForm(consent, {}));

  const params = oauth.validateAuthResponse(as, client, new URL(callback.url), state);
  const tokens = await oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, {
      [oauth.allowInsecureRequests]: true,
    }),
  );
  expect(oauth.getValidatedIdTokenClaims(tokens)?.sub).toBe('alice');
  expect(tokens.refresh_token).toEqual(expect.any(String));
  expect(await s.accessTokenValid(tokens.access_token)).toBe(true);
  const refreshed = await s.refreshOutside(str(tokens.refresh_token));
  expect(await s.accessTokenValid(str(refreshed['access_token']))).toBe(true);
});

const es256 = () => crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);

test("dpop 'required': a refresh without a proof fails; a DPoP-bound refresh token still rotates on every use", async () => {
  const s = await start({ dpop: 'required' });
  await expect(s.mintSession()).rejects.toMatchObject({ error: 'invalid_grant' });
  const key = await es256();
  const session = await s.mintSession('alice', { dpop: key });
  expect(session['token_type']).toBe('dpop');
  let refreshToken = str(session['refresh_token']);
  for (let use = 1; use <= 3; use++) {
    const next = await s.refreshOutside(refreshToken, { dpop: key });
    expect(next['token_type']).toBe('dpop');
    expect(str(next['refresh_token'])).not.toBe(refreshToken);
    refreshToken = str(next['refresh_token']);
  }
  // The rotated refresh token stays bound: another key cannot use it, and the failure revokes nothing.
  await expect(s.refreshOutside(refreshToken, { dpop: await es256() })).rejects.toMatchObject({ error: 'invalid_grant' });
  expect(s.dpopStats().jkts).toHaveLength(1);
  expect(s.stats()).toMatchObject({ refreshSucceeded: 3, grantsRevoked: 0 });
});

test('a DPoP-bound access token works at userinfo only with a proof of its key; a replayed proof is refused', async () => {
  const s = await start({ dpop: 'required' });
  const key = await es256();
  const session = await s.mintSession('alice', { dpop: key });
  const accessToken = str(session['access_token']);
  const DPoP = oauth.DPoP({}, key);
  const url = new URL(s.userinfoEndpoint);
  const proofs: Array<Record<string, string>> = [];
  const capture = { [oauth.allowInsecureRequests]: true, DPoP, [oauth.customFetch]: (u: string, init: oauth.CustomFetchOptions<string, unknown>) => {
    proofs.push(init.headers);
    return fetch(u, init as RequestInit);
  } };
  expect((await oauth.protectedResourceRequest(accessToken, 'GET', url, new Headers(), null, capture)).status).toBe(200);
  const replayed = await fetch(url, { headers: proofs[0]! });
  expect(replayed.status).toBe(401);
  expect(replayed.headers.get('www-authenticate')).toMatch(/^DPoP /);
  expect((await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } })).status).toBe(401);
  expect(s.dpopStats()).toMatchObject({ userinfoRequests: 3, userinfoOk: 1, replaysRefused: 1 });
});

test('requireDpopNonce: a proof without the nonce is answered use_dpop_nonce with one; the retry succeeds', async () => {
  const s = await start({ dpop: 'required' });
  const key = await es256();
  const session = await s.mintSession('alice', { dpop: key });
  expect(s.dpopStats().nonceChallenges).toBe(0);
  s.requireDpopNonce(true);
  await s.refreshOutside(str(session['refresh_token']), { dpop: key });
  expect(s.dpopStats().nonceChallenges).toBe(1);
  s.requireDpopNonce(false);
});

test("dpop 'off': a proof is ignored and the tokens are bearer tokens", async () => {
  const s = await start({ dpop: 'off' });
  const session = await s.refreshOutside(str((await s.mintSession())['refresh_token']), { dpop: await es256() });
  expect(session['token_type']).toBe('bearer');
  expect(s.dpopStats().jkts).toEqual([]);
});
