import { expect, test } from '@playwright/test';
import * as oauth from 'oauth4webapi';
import { retryOnNonceChallenge } from './dpop-nonce.js';

const json = (status: number, body: object, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

/** An attempt that resolves with the given answers in turn, counting its calls. */
function answers(...queue: Array<() => Response>) {
  const attempt = async () => queue[attempt.calls++]!();
  attempt.calls = 0;
  return attempt;
}

test('a raw use_dpop_nonce answer (400 body, or WWW-Authenticate) is retried once; the retry is the result, challenge or not', async () => {
  const ok = () => json(200, { access_token: 'at' });
  const body400 = () => json(400, { error: 'use_dpop_nonce' }, { 'dpop-nonce': 'n1' });
  const header401 = () => new Response(null, { status: 401, headers: { 'www-authenticate': 'DPoP error="use_dpop_nonce", algs="ES256"' } });

  for (const challenge of [body400, header401]) {
    const attempt = answers(challenge, ok);
    expect((await retryOnNonceChallenge(attempt)).status).toBe(200);
    expect(attempt.calls).toBe(2);
  }
  const twice = answers(body400, body400, ok);
  expect(await (await retryOnNonceChallenge(twice)).json()).toEqual({ error: 'use_dpop_nonce' });
  expect(twice.calls).toBe(2);
});

test('any other answer is the result of the one attempt', async () => {
  for (const other of [
    () => json(400, { error: 'invalid_grant' }),
    () => json(401, { error: 'use_dpop_nonce' }), // a 401 asks only through WWW-Authenticate
    () => new Response(null, { status: 401, headers: { 'www-authenticate': 'DPoP error="invalid_token"' } }),
    () => new Response('not json', { status: 400 }),
    () => json(200, { error: 'use_dpop_nonce' }),
  ]) {
    const attempt = answers(other, () => json(200, {}));
    const result = await retryOnNonceChallenge(attempt);
    expect(attempt.calls).toBe(1);
    expect(result.status).toBe(other().status);
  }
  const value = { not: 'a response' };
  expect(await retryOnNonceChallenge(async () => value)).toBe(value);
});

test("oauth4webapi's thrown use_dpop_nonce is retried once; its other errors, and a second challenge, are thrown", async () => {
  const nonceError = () =>
    new oauth.ResponseBodyError('use_dpop_nonce', { cause: { error: 'use_dpop_nonce' }, response: json(400, { error: 'use_dpop_nonce' }) });
  let calls = 0;
  expect(
    await retryOnNonceChallenge(async () => {
      if (++calls === 1) throw nonceError();
      return 'tokens';
    }),
  ).toBe('tokens');
  expect(calls).toBe(2);

  calls = 0;
  const second = nonceError();
  await expect(
    retryOnNonceChallenge(async () => {
      throw ++calls === 1 ? nonceError() : second;
    }),
  ).rejects.toBe(second);
  expect(calls).toBe(2);

  calls = 0;
  const other = new oauth.ResponseBodyError('invalid_grant', { cause: { error: 'invalid_grant' }, response: json(400, { error: 'invalid_grant' }) });
  await expect(
    retryOnNonceChallenge(async () => {
      calls++;
      throw other;
    }),
  ).rejects.toBe(other);
  expect(calls).toBe(1);
});
