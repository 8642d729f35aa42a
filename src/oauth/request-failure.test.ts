import { expect, test } from '@playwright/test';
import { startOAuthServer, type OAuthServer } from '../../dev/oauth-server.js';
import { closedPort, forward, silent } from '../../test/support/net.js';
import { createCoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import type { TokenHerdEvent } from '../shared/events.js';
import { createMemoryChannelHub, createMemoryLocks, createMemoryStore } from '../testing/memory.js';
import { checkProviderOptions, providerPorts, type ProviderOptions } from './provider-options.js';
import { readFailure } from './request-failure.js';
import { createTokenEndpoint } from './token-endpoint.js';

// Each class of failure, first as read from what fetch threw, then end to end: a coordinator
// (memory ports, the real token endpoint adapter) against the real oidc-provider.

const browserFailure = () => new TypeError('Failed to fetch');
const answering = (async () => new Response(null, { status: 404 })) as typeof fetch;
const failing = (async () => Promise.reject(browserFailure())) as typeof fetch;
const nodeFailure = (code: string) => new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });

test('a failure is read as unreachable (nothing sent), misconfigured (no wait helps), unread (a page: CORS refused the answer, or it broke) or lost (it broke)', async () => {
  const url = 'https://as.example/token';
  expect(await readFailure(nodeFailure('ECONNREFUSED'), url, answering)).toMatchObject({ kind: 'unreachable' });
  const happyEyeballs = new TypeError('fetch failed', { cause: Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {}) });
  expect(await readFailure(happyEyeballs, url, answering)).toMatchObject({ kind: 'unreachable' });
  expect(await readFailure(nodeFailure('ENOTFOUND'), url, answering)).toMatchObject({ kind: 'misconfigured', detail: expect.stringContaining('ENOTFOUND') });
  expect(await readFailure(nodeFailure('DEPTH_ZERO_SELF_SIGNED_CERT'), url, answering)).toMatchObject({ kind: 'misconfigured' });
  expect(await readFailure(nodeFailure('ECONNRESET'), url, answering)).toMatchObject({ kind: 'lost' });
  // A browser's "Failed to fetch": one opaque probe tells a server that answers from one that cannot be reached.
  expect(await readFailure(browserFailure(), url, answering)).toMatchObject({ kind: 'unread', detail: expect.stringContaining('CORS') });
  expect(await readFailure(browserFailure(), url, failing)).toMatchObject({ kind: 'unreachable' });
  // The desktop relay's failures arrive coded: their outcome is unknown, and no probe is sent.
  expect(await readFailure(new TokenHerdError(ErrorCode.TRANSIENT, 'relay failed'), url, failing)).toMatchObject({ kind: 'lost' });
  // A custom fetch's own TypeError (the relay's "not a token endpoint response") says nothing about the network.
  expect(await readFailure(new TypeError('the token relay answered something that is not a token endpoint response'), url, failing)).toMatchObject({ kind: 'lost' });
});

/** A token endpoint whose requests fail with `failure`; the browser's probe (`no-cors`) reaches a server when `probeAnswers`. */
function failingEndpoint(failure: () => unknown, probeAnswers: boolean) {
  const fetch = (async (_url: string, init?: RequestInit) => {
    if (init?.mode === 'no-cors') return probeAnswers ? new Response(null, { status: 404 }) : Promise.reject(browserFailure());
    return Promise.reject(failure());
  }) as typeof globalThis.fetch;
  const endpoint = createTokenEndpoint({ issuer: 'https://as.example', tokenEndpoint: 'https://as.example/token', client: { client_id: 'app' }, fetch });
  const signal = new AbortController().signal;
  return () => endpoint.refresh('rt', { signal }).catch((error: unknown) => error);
}

test('which failures in a row become MISCONFIGURED: unreachable at the limit, unread (a page, CORS) at the limit, a broken connection never', async () => {
  const at = { url: 'https://as.example/token', phase: 'token-request' };
  const refused = failingEndpoint(() => nodeFailure('ECONNREFUSED'), true);
  for (let attempt = 1; attempt < 3; attempt++) expect(await refused()).toMatchObject({ ...at, kind: 'transient', answered: true });
  expect(await refused()).toMatchObject({ ...at, code: ErrorCode.MISCONFIGURED });
  expect(await refused()).toMatchObject({ ...at, code: ErrorCode.MISCONFIGURED }); // at once, until the server answers

  const cors = failingEndpoint(browserFailure, true);
  for (let attempt = 1; attempt < 3; attempt++) expect(await cors()).toMatchObject({ ...at, code: ErrorCode.TRANSIENT, message: expect.stringContaining('CORS') });
  expect(await cors()).toMatchObject({ ...at, code: ErrorCode.MISCONFIGURED, message: expect.stringContaining('3 requests in a row') });

  const reset = failingEndpoint(() => nodeFailure('ECONNRESET'), true);
  for (let attempt = 1; attempt <= 5; attempt++) expect(await reset()).toMatchObject({ ...at, code: ErrorCode.TRANSIENT, message: expect.stringContaining('ECONNRESET') });
});

let server: OAuthServer;
test.beforeAll(async () => {
  server = await startOAuthServer({ reuse: 'reject' });
});
test.afterAll(() => server.close());

/** A signed-in coordinator on `options` against the real server, with the events it reported. */
async function signedIn(options: Partial<ProviderOptions>, session?: Record<string, unknown>) {
  const checked = checkProviderOptions({
    sessionKey: 'k',
    issuer: server.issuer,
    client: { client_id: server.clientId },
    allowInsecureRequests: true,
    retry: { baseDelayMs: 1 },
    ...options,
  });
  const store = createMemoryStore();
  const core = createCoordinatorCore(checked.settings, { lock: createMemoryLocks(), channel: createMemoryChannelHub().open('k'), ...providerPorts(checked, store) });
  const events: TokenHerdEvent[] = [];
  core.subscribe((event) => events.push(event));
  await core.setSession(session ?? (await server.mintSession()));
  const record = () => store.raw('k') as { state: string; refreshInFlight?: unknown };
  return { core, events, record, sent: () => events.filter((event) => event.type === 'refresh-started').length };
}

test('a wrong token endpoint path: MISCONFIGURED at once, naming the URL and phase, with the 404; the session is kept', async () => {
  const url = `${server.issuer}/wrong-token`;
  const { core, record, sent } = await signedIn({ tokenEndpoint: url });
  try {
    await expect(core.getAccessToken({ forceRefresh: true })).rejects.toMatchObject({
      code: ErrorCode.MISCONFIGURED,
      url,
      phase: 'token-request',
      status: 404,
      message: `Misconfigured token request to ${url}: HTTP 404: no token endpoint at this URL. Check tokenEndpoint (or the issuer it is discovered from)`,
    });
    expect(sent()).toBe(1);
    expect(record()).toMatchObject({ state: 'active' });
    expect(record().refreshInFlight).toBeUndefined(); // nothing was consumed
    expect(core.getState().status).toBe('signed-in');
  } finally {
    core.close();
  }
});

test('a wrong port: each of the 3 attempts refused, then MISCONFIGURED naming the URL; nothing consumed, the session kept', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/token`;
  const { core, record, events, sent } = await signedIn({ tokenEndpoint: url });
  try {
    await expect(core.getAccessToken({ forceRefresh: true })).rejects.toMatchObject({
      code: ErrorCode.MISCONFIGURED,
      url,
      phase: 'token-request',
      message: expect.stringMatching(/^Misconfigured token request to http:\S+: 3 requests in a row got no answer, the last: ECONNREFUSED/),
    });
    expect(sent()).toBe(3);
    expect(events.filter((event) => event.type === 'refresh-failed')).toEqual([
      { type: 'refresh-failed', code: 'TRANSIENT', reason: expect.stringContaining(`ECONNREFUSED: nothing accepts connections there (fetch failed) (token-request ${url})`), willRetry: true },
      { type: 'refresh-failed', code: 'TRANSIENT', reason: expect.stringContaining(url), willRetry: true },
      { type: 'refresh-failed', code: 'MISCONFIGURED', reason: expect.stringContaining(url), willRetry: false },
    ]);
    expect(record()).toMatchObject({ state: 'active' });
    expect(record().refreshInFlight).toBeUndefined();
  } finally {
    core.close();
  }
});

test('a typo in the issuer: no discovery document, MISCONFIGURED in the discovery phase with both URLs tried; nothing sent', async () => {
  const issuer = `${server.issuer}/typo`;
  const { core, record } = await signedIn({ issuer });
  try {
    const failure = await core.getAccessToken({ forceRefresh: true }).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: ErrorCode.MISCONFIGURED, phase: 'discovery', status: 404, url: `${server.issuer}/.well-known/oauth-authorization-server/typo` });
    expect((failure as Error).message).toContain(`${issuer}/.well-known/openid-configuration: HTTP 404`);
    expect((failure as Error).message).toContain('Check issuer, or set tokenEndpoint');
    expect(server.stats().refreshRequests).toBe(0);
    expect(record().refreshInFlight).toBeUndefined();
  } finally {
    core.close();
  }
});

test('an issuer that names the server differently from its own metadata: MISCONFIGURED saying which issuer the server names', async () => {
  const { core } = await signedIn({ issuer: server.issuer.replace('127.0.0.1', 'localhost') });
  try {
    await expect(core.getAccessToken({ forceRefresh: true })).rejects.toMatchObject({
      code: ErrorCode.MISCONFIGURED,
      phase: 'discovery',
      message: expect.stringContaining(`the metadata names the issuer ${server.issuer}, not ${server.issuer.replace('127.0.0.1', 'localhost')}/`),
    });
  } finally {
    core.close();
  }
});

test('a stopped server: refused on every attempt, MISCONFIGURED; restarted without its grants, its refusal is not called a lost response', async () => {
  const stopped = await startOAuthServer({ reuse: 'reject' });
  const port = Number(new URL(stopped.issuer).port);
  const session = await stopped.mintSession();
  const { core, record, sent } = await signedIn({ issuer: stopped.issuer }, session);
  await stopped.close();
  try {
    await expect(core.getAccessToken({ forceRefresh: true })).rejects.toMatchObject({ code: ErrorCode.MISCONFIGURED, phase: 'discovery', message: expect.stringContaining('ECONNREFUSED') });
    expect(sent()).toBe(3);
    expect(record().refreshInFlight).toBeUndefined();
    const restarted = await startOAuthServer({ reuse: 'reject', port });
    try {
      const failure = await core.getAccessToken({ forceRefresh: true }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: ErrorCode.SESSION_EXPIRED, error: 'invalid_grant', url: restarted.tokenEndpoint, phase: 'token-request' });
      expect((failure as Error).message).not.toMatch(/lost|no answer/);
      expect((failure as Error).message).toContain('unknown after a restart');
    } finally {
      await restarted.close();
    }
  } finally {
    core.close();
  }
});

test('a server that never answers: TRANSIENT after requestTimeoutMs, naming the request that got no answer; discovery and token request alike', async () => {
  const hung = await silent();
  try {
    for (const [options, url, phase] of [
      [{ tokenEndpoint: `${hung.url}/token` }, `${hung.url}/token`, 'token-request'],
      [{ issuer: hung.url }, `${hung.url}/.well-known/openid-configuration`, 'discovery'],
    ] as const) {
      const { core } = await signedIn({ ...options, requestTimeoutMs: 300, retry: { attempts: 1 } });
      try {
        await expect(core.getAccessToken({ forceRefresh: true })).rejects.toMatchObject({
          code: ErrorCode.TRANSIENT,
          url,
          phase,
          message: `Refresh failed transiently: no response within 300 ms (${phase} ${url})`,
        });
      } finally {
        core.close();
      }
    }
  } finally {
    await hung.close();
  }
});

test('retry: under the default profile a refused connection is sent again, up to retry.attempts, and a server that then accepts serves the refresh', async () => {
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}/token`;
  let proxy: { close(): Promise<void> } | undefined;
  const { core, events } = await signedIn({ tokenEndpoint: url, retry: { baseDelayMs: 50 } });
  // The second refusal starts the server (forward listens before it returns): the third attempt gets through.
  core.subscribe((event) => {
    if (event.type === 'refresh-failed' && events.filter((e) => e.type === 'refresh-failed').length === 2) {
      void forward(port, Number(new URL(server.issuer).port)).then((started) => (proxy = started));
    }
  });
  try {
    const token = await core.getAccessToken({ forceRefresh: true });
    expect(await server.accessTokenValid(token)).toBe(true);
    expect(events.filter((event) => event.type === 'refresh-started').map((event) => event.type === 'refresh-started' && event.attempt)).toEqual([1, 2, 3]);
    expect(events.filter((event) => event.type === 'refresh-failed')).toMatchObject([
      { code: 'TRANSIENT', willRetry: true },
      { code: 'TRANSIENT', willRetry: true },
    ]);
  } finally {
    core.close();
    await proxy?.close();
  }
});
