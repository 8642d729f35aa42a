import { expect, test } from '@playwright/test';
import type { GetAccessTokenOptions } from '../shared/coordinator.js';
import { bearerSend, createAuthorizedFetch } from './authorized-fetch.js';
import { closedPort } from '../../test/support/net.js';

/** A coordinator that hands out `tokens` in order, the last one again, and records what it was asked. */
function coordinator(...tokens: string[]) {
  const asked: GetAccessTokenOptions[] = [];
  return {
    asked,
    getAccessToken: async (options: GetAccessTokenOptions = {}) => {
      asked.push({ ...(options.forceRefresh && { forceRefresh: true }) });
      return tokens.length > 1 ? tokens.shift()! : tokens[0]!;
    },
  };
}

/** Answers 401 to `refused`, 200 to anything else, and records the Authorization headers it saw. */
function api(refused: string) {
  const seen: string[] = [];
  const fetchImpl = (async (request: Request) => {
    const authorization = request.headers.get('authorization') ?? '';
    seen.push(authorization);
    return new Response(null, { status: authorization === `Bearer ${refused}` ? 401 : 200 });
  }) as typeof fetch;
  return { seen, fetchImpl };
}

test('a 401 is retried once with a newer token another party stored, without a refresh', async () => {
  const core = coordinator('old', 'new');
  const { seen, fetchImpl } = api('old');
  const response = await createAuthorizedFetch(core, bearerSend(fetchImpl), fetchImpl)('https://api.example/user');
  expect(response.status).toBe(200);
  expect(seen).toEqual(['Bearer old', 'Bearer new']);
  expect(core.asked).toEqual([{}, {}]);
});

test('a 401 for the token still held forces one refresh, then one retry', async () => {
  const core = coordinator('old', 'old', 'fresh');
  const { seen, fetchImpl } = api('old');
  expect((await createAuthorizedFetch(core, bearerSend(fetchImpl), fetchImpl)('https://api.example/user')).status).toBe(200);
  expect(seen).toEqual(['Bearer old', 'Bearer fresh']);
  expect(core.asked).toEqual([{}, {}, { forceRefresh: true }]);
});

test("the request's own failures are coded, naming the URL and phase: TRANSIENT (refused), MISCONFIGURED (unknown host), ABORTED, INVALID_OPTIONS", async () => {
  const send = createAuthorizedFetch(coordinator('t'), bearerSend(globalThis.fetch), globalThis.fetch);
  const url = `http://127.0.0.1:${await closedPort()}/unreachable`;
  await expect(send(url)).rejects.toMatchObject({
    code: 'TRANSIENT',
    url,
    phase: 'resource-request',
    message: `Failed request to ${url}: ECONNREFUSED: nothing accepts connections there (fetch failed)`,
  });
  await expect(send('http://no-such-host.invalid/user')).rejects.toMatchObject({
    code: 'MISCONFIGURED',
    url: 'http://no-such-host.invalid/user',
    phase: 'resource-request',
    message: expect.stringContaining('ENOTFOUND'),
  });
  await expect(send(url, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
  await expect(send('http://[invalid')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
});
