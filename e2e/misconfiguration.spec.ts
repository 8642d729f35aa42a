import type { Page } from '@playwright/test';
import { closedPort } from '../test/support/net.js';
import { expect, test } from './support/fixtures.js';

/** Forces a refresh in `page` and returns the error's code, message and request fields (or the token). */
const forcedRefresh = (page: Page) =>
  page.evaluate(async () => {
    try {
      return { ok: true, token: await window.tokenherdDemo.coordinator.getAccessToken({ forceRefresh: true }) };
    } catch (error) {
      const { code, message, url, phase } = error as { code: string; message: string; url?: string; phase?: string };
      return { ok: false, code, message, url, phase };
    }
  });

test('a wrong token endpoint path in a page: its 404 carries no CORS headers, so the page cannot read it; the probe tells it from an unreachable server, TRANSIENT then MISCONFIGURED, the session kept', async ({ app, oauth }) => {
  const url = `${oauth.issuer}/wrong-token`;
  const [page] = await app.openSignedIn(1, { query: { token_endpoint: url } });
  const first = await forcedRefresh(page!);
  expect(first).toMatchObject({ ok: false, code: 'TRANSIENT', url, phase: 'token-request', message: expect.stringContaining('CORS refused the answer (a wrong path') });
  expect(first.message).toContain(`Failed token request to ${url}: Failed to fetch; ${oauth.issuer} answers other requests`);
  expect(await forcedRefresh(page!)).toMatchObject({ ok: false, code: 'TRANSIENT', url });
  // The third request in a row without a readable answer from a server that answers other requests: not a blip.
  expect(await forcedRefresh(page!)).toMatchObject({
    ok: false,
    code: 'MISCONFIGURED',
    url,
    phase: 'token-request',
    message: expect.stringMatching(/^Misconfigured token request to \S+: 3 requests in a row got no answer, the last: .*CORS/),
  });
  expect(await page!.evaluate(() => window.tokenherdDemo.coordinator.getState().status)).toBe('signed-in');
  expect(oauth.stats().refreshRequests).toBe(0);
});

test('a wrong port in a page: the probe finds nothing listening, so each refusal is sent again (3 attempts), then MISCONFIGURED', async ({ app }) => {
  const url = `http://127.0.0.1:${await closedPort()}/token`;
  const [page] = await app.openSignedIn(1, { query: { token_endpoint: url, retry_base: '10' } });
  expect(await forcedRefresh(page!)).toMatchObject({
    ok: false,
    code: 'MISCONFIGURED',
    url,
    phase: 'token-request',
    message: expect.stringMatching(/3 requests in a row got no answer, the last: Failed to fetch; no request reaches http:\/\/127\.0\.0\.1:\d+/),
  });
  const started = await page!.evaluate(() => window.tokenherdDemo.events.filter((event) => event.type === 'refresh-started').length);
  expect(started).toBe(3);
  expect(await page!.evaluate(() => window.tokenherdDemo.coordinator.getState().status)).toBe('signed-in');
});
