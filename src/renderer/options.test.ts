import { expect, test } from '@playwright/test';
import { createTokenCoordinator, sealWith, type Sealer, type TokenCoordinatorOptions } from './index.js';

const valid: TokenCoordinatorOptions = { sessionKey: 'k', issuer: 'https://issuer.example', client: { client_id: 'app' } };
/** The shape the coordinator checks of a `createDpop` result, for `sessionKey` in the default database. */
const dpopOf = (sessionKey: string) => ({ sessionKey, databaseName: 'tokenherd', tokenRequest: async () => new Response(), resourceSender: () => async () => undefined });

test('options are validated at creation, each with a message that names the option', () => {
  const cases: Array<[unknown, RegExp]> = [
    [undefined, /options must be an object/],
    [{ ...valid, sessionKey: '' }, /sessionKey/],
    [{ ...valid, issuer: 'not a url' }, /issuer must be an absolute URL/],
    [{ ...valid, issuer: 'http://issuer.example' }, /issuer must use https: \(set allowInsecureRequests/],
    [{ ...valid, tokenEndpoint: 'ftp://issuer.example/token' }, /tokenEndpoint must use https:/],
    [{ ...valid, client: {} }, /client.client_id/],
    [{ ...valid, client: { client_id: 'app', token_endpoint_auth_method: 'private_key_jwt' } }, /token_endpoint_auth_method/],
    [{ ...valid, client: { client_id: 'app', token_endpoint_auth_method: 'client_secret_basic' } }, /client_secret is required/],
    [{ ...valid, profile: 'github' }, /client_secret is required by client_secret_post/],
    [{ ...valid, profile: 'okta' }, /profile must be/],
    [{ ...valid, profile: { reuseGraceSeconds: -1 } }, /profile.reuseGraceSeconds/],
    [{ ...valid, refreshLeewaySeconds: '60' }, /refreshLeewaySeconds must be a number/],
    [{ ...valid, requestTimeoutMs: 0 }, /requestTimeoutMs/],
    [{ ...valid, retry: { maxDelayMs: 1, baseDelayMs: 10 } }, /retry.maxDelayMs/],
    [{ ...valid, databaseName: '' }, /databaseName/],
    [{ ...valid, fetch: 'window.fetch' }, /fetch must be a function/],
    [{ ...valid, tokenEndpointFetch: {} }, /tokenEndpointFetch must be a function/],
    [{ ...valid, dpop: true }, /dpop must come from createDpop\(\{ sessionKey, databaseName \}\)/],
    [{ ...valid, dpop: { ...dpopOf('other'), sessionKey: 'other' } }, /dpop was made for session "other" in database "tokenherd", not this coordinator's/],
    [{ ...valid, dpop: { ...dpopOf('k'), databaseName: 'elsewhere' } }, /dpop was made for session "k" in database "elsewhere"/],
    [{ ...valid, sealer: { seal: async (t: string) => t, unseal: async (t: string) => t } }, /sealer and onSealingProblem are now sealing: sealWith\(sealer, \{ onSealingProblem \}\)/],
    [{ ...valid, sealing: { seal: async (t: string) => t, unseal: async (t: string) => t } }, /sealing must come from sealWith\(sealer\)/],
  ];
  for (const [options, message] of cases) {
    expect(() => createTokenCoordinator(options as TokenCoordinatorOptions), JSON.stringify(options)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringMatching(message) }),
    );
  }
});

test('valid options where Web Locks are missing fail with UNSUPPORTED, never run unlocked', () => {
  expect(() => createTokenCoordinator(valid)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  expect(() => createTokenCoordinator({ ...valid, sealing: sealWith({ seal: async (t) => t, unseal: async (t) => t }) })).toThrow(
    expect.objectContaining({ code: 'UNSUPPORTED' }),
  );
});

test('sealWith checks its sealer', () => {
  expect(() => sealWith({ seal: async (t: string) => t } as unknown as Sealer)).toThrow(
    expect.objectContaining({ code: 'INVALID_OPTIONS', message: 'sealWith: the sealer must be an object with seal and unseal functions' }),
  );
});
