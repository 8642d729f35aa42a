import { expect, test } from '@playwright/test';
import { startOAuthServer } from '../../dev/oauth-server.js';
import { createTokenRelay } from '../main/token-relay.js';
import { type IpcResult, type RelayedTokenRequest, type RelayedTokenResponse } from './ipc-contract.js';
import { DesktopErrorCode } from './errors.js';
import { relayedFetch } from './bridge.js';
import { createTokenEndpoint } from '../oauth/token-endpoint.js';

const signal = new AbortController().signal;
type Relay = (request: RelayedTokenRequest) => Promise<IpcResult<RelayedTokenResponse>>;

test('relayedFetch: the token endpoint client works through the main process relay against the real server', async () => {
  const server = await startOAuthServer();
  try {
    const relay = createTokenRelay({ tokenEndpoint: server.tokenEndpoint });
    const seen: RelayedTokenRequest[] = [];
    const relayTokenRequest: Relay = async (request) => {
      seen.push(request);
      return { ok: true, value: await relay(request) };
    };
    const endpoint = createTokenEndpoint({
      issuer: server.issuer,
      tokenEndpoint: server.tokenEndpoint,
      client: { client_id: server.clientId },
      allowInsecureRequests: true,
      fetch: relayedFetch({ relayTokenRequest }),
    });
    const session = await server.mintSession();
    const refreshToken = String(session['refresh_token']);
    expect(await endpoint.refresh(refreshToken, { signal })).toMatchObject({ kind: 'tokens', response: { access_token: expect.any(String) } });
    expect(await endpoint.refresh(refreshToken, { signal })).toMatchObject({ kind: 'rejected', error: 'invalid_grant' });
    expect(seen.map((r) => new URLSearchParams(r.body).get('grant_type'))).toEqual(['refresh_token', 'refresh_token']);
  } finally {
    await server.close();
  }
});

test('relayedFetch carries POSTs only, passes the relay refusal on with its code, and refuses a malformed answer', async () => {
  const never: Relay = () => Promise.reject(new Error('must not be called'));
  await expect(relayedFetch({ relayTokenRequest: never })('https://issuer.example/.well-known/openid-configuration')).rejects.toThrow(/POSTs only.*set tokenEndpoint/);

  const post = { method: 'POST', body: 'grant_type=refresh_token&refresh_token=rt' };
  const refusing: Relay = async () => ({ ok: false, code: DesktopErrorCode.NOT_ALLOWED, message: 'the relay sends only to X' });
  await expect(relayedFetch({ relayTokenRequest: refusing })('https://issuer.example/token', post)).rejects.toMatchObject({ code: DesktopErrorCode.NOT_ALLOWED });

  for (const value of [
    { status: 700, headers: {}, body: '' },
    { status: 200, headers: { 'set-cookie': 'a=b' }, body: '{}' },
    { status: 200, headers: {}, body: '{}', extra: true },
    { status: 200, headers: {} },
  ]) {
    const odd: Relay = async () => ({ ok: true, value: value as RelayedTokenResponse });
    await expect(relayedFetch({ relayTokenRequest: odd })('https://issuer.example/token', post), JSON.stringify(value)).rejects.toThrow(/not a token endpoint response/);
  }

  const fine: Relay = async () => ({ ok: true, value: { status: 429, headers: { 'retry-after': '5' }, body: '' } });
  const response = await relayedFetch({ relayTokenRequest: fine })('https://issuer.example/token', post);
  expect({ status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() }).toEqual({ status: 429, retryAfter: '5', body: '' });
});
