import { createServer } from 'node:http';
import { expect, test } from '@playwright/test';
import { startGateway, upstreamOptionsFor, type Gateway } from '../../dev/gateway.js';
import { closeServer, listenOnLoopback } from '../../dev/loopback.js';
import { startOAuthServer, type OAuthServer } from '../../dev/oauth-server.js';
import { ErrorCode } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';

import { createTokenRelay, parseTokenRelayConfig } from './token-relay.js';

const SECRET = 'app-secret';
let oauth: OAuthServer;
let github: Gateway;
test.beforeAll(async () => {
  oauth = await startOAuthServer(upstreamOptionsFor('github'));
  github = await startGateway({ upstream: oauth, emulate: 'github', clientSecret: SECRET });
});
test.afterAll(async () => {
  await github.close();
  await oauth.close();
});

const refreshForm = (refreshToken: string) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: oauth.clientId }).toString();
const json = (body: string) => JSON.parse(body) as Record<string, unknown>;

test('sends the refresh to the configured endpoint with the client secret it holds, and answers what the provider said', async () => {
  const relay = createTokenRelay(parseTokenRelayConfig({ tokenEndpoint: github.tokenEndpoint, clientSecret: SECRET }));
  const session = await github.mintSession();
  const answer = await relay({ url: github.tokenEndpoint, body: refreshForm(String(session['refresh_token'])) });
  expect(answer.status).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(json(answer.body)).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String) });
  expect(await oauth.accessTokenValid(String(json(answer.body)['access_token']))).toBe(true);
  // The same refresh token again: GitHub's refusal in an HTTP 200 body, passed on as it came.
  const reused = await relay({ url: github.tokenEndpoint, body: refreshForm(String(session['refresh_token'])) });
  expect({ status: reused.status, error: json(reused.body)['error'] }).toEqual({ status: 200, error: 'bad_refresh_token' });
});

test('without a configured secret the provider refuses the client: the window never supplies one', async () => {
  const relay = createTokenRelay(parseTokenRelayConfig({ tokenEndpoint: github.tokenEndpoint }));
  const session = await github.mintSession();
  const answer = await relay({ url: github.tokenEndpoint, body: refreshForm(String(session['refresh_token'])) });
  expect(json(answer.body)['error']).toBe('incorrect_client_credentials');
});

test('refuses, before sending anything, another URL, no configuration, and a form that is not a plain refresh_token grant', async () => {
  const relay = createTokenRelay(parseTokenRelayConfig({ tokenEndpoint: github.tokenEndpoint, clientSecret: SECRET }));
  const before = github.stats().requests;
  const refused = async (run: Promise<unknown>) => run.then(() => 'sent', (error: { code?: string }) => error.code);
  expect(await refused(relay({ url: `${github.issuer}/other`, body: refreshForm('rt') }))).toBe(DesktopErrorCode.NOT_ALLOWED);
  expect(await refused(createTokenRelay(undefined)({ url: github.tokenEndpoint, body: refreshForm('rt') }))).toBe(DesktopErrorCode.NOT_ALLOWED);
  for (const body of [
    'grant_type=authorization_code&code=c',
    'grant_type=refresh_token',
    `${refreshForm('rt')}&client_secret=guess`,
    `${refreshForm('rt')}&refresh_token=second`,
    `${refreshForm('rt')}&redirect_uri=x`,
  ]) {
    expect(await refused(relay({ url: github.tokenEndpoint, body })), body).toBe(DesktopErrorCode.INVALID_PAYLOAD);
  }
  expect(github.stats().requests).toBe(before);
});

test('an unreachable endpoint is TRANSIENT (the outcome is unknown); 429 keeps its Retry-After; an oversized answer is refused', async () => {
  const closed = createServer();
  const gone = `${await listenOnLoopback(closed)}/token`;
  await closeServer(closed);
  await expect(createTokenRelay({ tokenEndpoint: gone })({ url: gone, body: refreshForm('rt') })).rejects.toMatchObject({ code: ErrorCode.TRANSIENT });

  const relay = createTokenRelay(parseTokenRelayConfig({ tokenEndpoint: github.tokenEndpoint, clientSecret: SECRET }));
  github.script({ status: 429, retryAfter: '3' });
  const limited = await relay({ url: github.tokenEndpoint, body: refreshForm('rt') });
  expect({ status: limited.status, retryAfter: limited.headers['retry-after'] }).toEqual({ status: 429, retryAfter: '3' });

  const huge = createTokenRelay({ tokenEndpoint: 'https://github.com/login/oauth/access_token' }, { fetch: async () => new Response('x'.repeat(70_000)) });
  await expect(huge({ url: 'https://github.com/login/oauth/access_token', body: refreshForm('rt') })).rejects.toMatchObject({ code: DesktopErrorCode.INVALID_RESPONSE });
});

test('the configuration: https, or http on a loopback host; no empty secret', () => {
  expect(parseTokenRelayConfig({ tokenEndpoint: 'https://github.com/login/oauth/access_token' })).toEqual({ tokenEndpoint: 'https://github.com/login/oauth/access_token' });
  expect(() => parseTokenRelayConfig({ tokenEndpoint: 'http://github.com/login/oauth/access_token' })).toThrow(/https/);
  expect(() => parseTokenRelayConfig({ tokenEndpoint: 'not a url' })).toThrow(/https/);
  expect(() => parseTokenRelayConfig({ tokenEndpoint: 'https://user:pw@github.com/token' })).toThrow(/https/);
  expect(() => parseTokenRelayConfig({ tokenEndpoint: 'https://github.com/token', clientSecret: '' })).toThrow(/secret/);
});
