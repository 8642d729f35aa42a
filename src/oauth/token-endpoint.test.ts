import { expect, test } from '@playwright/test';
import { startOAuthServer, type OAuthServer } from '../../dev/oauth-server.js';
import { createCoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode } from '../shared/errors.js';
import { resolveSettings } from '../shared/settings.js';
import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryStore } from '../testing/memory.js';
import { createTokenEndpoint, parseRetryAfter } from './token-endpoint.js';

let server: OAuthServer;
test.beforeAll(async () => {
  server = await startOAuthServer({ reuse: 'reject' });
});
test.afterAll(() => server.close());

const signal = new AbortController().signal;
/** Where `canned`'s answers come from, as every outcome of a request names it. */
const at = { url: 'https://issuer.example/token', phase: 'token-request' };
const canned = (status: number, body: string, headers: Record<string, string> = {}) =>
  createTokenEndpoint({
    issuer: 'https://issuer.example',
    tokenEndpoint: 'https://issuer.example/token',
    client: { client_id: 'app' },
    fetch: async () => new Response(body, { status, headers: { 'content-type': 'application/json', ...headers } }),
  });

test('against the real server: a refresh yields tokens, a reused refresh token is rejected', async () => {
  const endpoint = createTokenEndpoint({ issuer: server.issuer, client: { client_id: server.clientId }, allowInsecureRequests: true });
  const session = await server.mintSession();
  const first = await endpoint.refresh(String(session['refresh_token']), { signal });
  expect(first).toMatchObject({ kind: 'tokens', response: { token_type: expect.stringMatching(/^bearer$/i), access_token: expect.any(String) } });
  expect(await endpoint.refresh(String(session['refresh_token']), { signal })).toMatchObject({ kind: 'rejected', error: 'invalid_grant', status: 400 });
});

test("against the real server: a refusal reaches the caller's TokenHerdError as the provider's error, description and status", async () => {
  const clock = createManualClock(Date.now());
  const core = (clientId: string) =>
    createCoordinatorCore(resolveSettings({ sessionKey: 'k', refreshLeewaySeconds: 0 }), {
      lock: createMemoryLocks(),
      channel: createMemoryChannelHub().open('k'),
      store: createMemoryStore(),
      clock,
      endpoint: createTokenEndpoint({ issuer: server.issuer, client: { client_id: clientId }, allowInsecureRequests: true }),
    });
  const stranger = core('not-registered');
  const reused = core(server.clientId);
  try {
    await stranger.setSession(await server.mintSession());
    const session = await server.mintSession();
    await reused.setSession(session);
    clock.advance(24 * 3600 * 1000);
    await expect(stranger.getAccessToken()).rejects.toMatchObject({
      code: ErrorCode.PROVIDER_ERROR,
      error: 'invalid_client',
      error_description: expect.any(String),
      status: 401,
    });
    // Spent outside the coordinator: the provider refuses the stored refresh token.
    await createTokenEndpoint({ issuer: server.issuer, client: { client_id: server.clientId }, allowInsecureRequests: true }).refresh(String(session['refresh_token']), { signal });
    await expect(reused.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED, error: 'invalid_grant', status: 400 });
  } finally {
    stranger.close();
    reused.close();
  }
});

test('5xx and 429 are transient and carry Retry-After; OAuth errors are classified by code', async () => {
  expect(await canned(503, '', { 'retry-after': '7' }).refresh('rt', { signal })).toEqual({ ...at, kind: 'transient', reason: 'HTTP 503', answered: true, retryAfterMs: 7000 });
  expect(await canned(429, '{}').refresh('rt', { signal })).toEqual({ ...at, kind: 'transient', reason: 'HTTP 429', answered: true });
  expect(await canned(400, '{"error":"invalid_grant"}').refresh('rt', { signal })).toEqual({ ...at, kind: 'rejected', error: 'invalid_grant', status: 400 });
  expect(await canned(400, '{"error":"temporarily_unavailable"}').refresh('rt', { signal })).toEqual({ ...at, kind: 'transient', reason: 'temporarily_unavailable', answered: true });
  expect(await canned(401, '{"error":"invalid_client","error_description":"no such client"}').refresh('rt', { signal })).toEqual({
    ...at,
    kind: 'provider-error',
    error: 'invalid_client',
    description: 'no such client',
    status: 401,
  });
  expect(await canned(403, 'forbidden').refresh('rt', { signal })).toEqual({ ...at, kind: 'provider-error', error: 'HTTP 403', status: 403 });
});

test("GitHub's errors in an HTTP 200 body are errors, and a 200 without a JSON object is an invalid response", async () => {
  expect(await canned(200, '{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired."}').refresh('rt', { signal })).toEqual({
    ...at,
    kind: 'rejected',
    error: 'bad_refresh_token',
    description: 'The refresh token passed is incorrect or expired.',
    status: 200,
  });
  expect(await canned(200, 'access_token=at&token_type=bearer').refresh('rt', { signal })).toMatchObject({ ...at, kind: 'invalid-response' });
  expect(await canned(200, '"at"').refresh('rt', { signal })).toMatchObject({ ...at, kind: 'invalid-response' });
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  expect(parseRetryAfter('120', now)).toBe(120_000);
  expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
  expect(parseRetryAfter('soon', now)).toBeUndefined();
  expect(parseRetryAfter(null, now)).toBeUndefined();
});
