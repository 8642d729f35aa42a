import { createServer } from 'node:http';
import { expect, test } from '@playwright/test';
import { ErrorCode } from '../shared/errors.js';
import { signInWithSystemBrowser, userAgentFromBridge, type SystemBrowserDeps } from './loopback-sign-in.js';

const REDIRECT = 'http://127.0.0.1/tokenherd-desktop/callback';

function authorizationUrl(params: Record<string, string> = {}): string {
  const query = new URLSearchParams({
    client_id: 'c',
    redirect_uri: REDIRECT,
    response_type: 'code',
    state: 'the-state',
    code_challenge: 'challenge',
    code_challenge_method: 'S256',
    ...params,
  });
  return `https://issuer.example/auth?${query}`;
}

/** Node's createServer, and a system browser that records what it was asked to open and lets the test act as the provider. */
function deps(): SystemBrowserDeps & { opened: Promise<URL> } {
  let open: (url: URL) => void = () => {};
  const opened = new Promise<URL>((resolve) => (open = resolve));
  return { createServer, openExternal: async (url) => open(new URL(url)), opened };
}

/** The provider's redirect, as the browser follows it. */
async function redirectTo(opened: URL, query: Record<string, string>): Promise<Response> {
  const target = new URL(opened.searchParams.get('redirect_uri')!);
  target.search = new URLSearchParams(query).toString();
  return fetch(target);
}

test('listens on 127.0.0.1 at a random port, sends that redirect_uri, answers the one redirect and closes', async () => {
  const d = deps();
  const result = signInWithSystemBrowser(d, { authorizationUrl: authorizationUrl() });
  const opened = await d.opened;
  const redirect = new URL(opened.searchParams.get('redirect_uri')!);
  expect([redirect.protocol, redirect.hostname, redirect.pathname]).toEqual(['http:', '127.0.0.1', '/tokenherd-desktop/callback']);
  expect(Number(redirect.port)).toBeGreaterThan(0);
  // Everything else of the request is as the window built it.
  const asBuilt = new URL(opened);
  asBuilt.searchParams.set('redirect_uri', REDIRECT);
  expect(asBuilt.href).toBe(authorizationUrl());

  expect((await fetch(new URL('/favicon.ico', redirect))).status).toBe(404);
  const answer = await redirectTo(opened, { code: 'abc', state: 'the-state' });
  expect(answer.status).toBe(200);
  expect(await answer.text()).toContain('return to the app');
  expect(await result).toBe(`${redirect.href}?code=abc&state=the-state`);
  await expect(redirectTo(opened, { code: 'again', state: 'the-state' })).rejects.toThrow(); // nothing listens any more
});

test('an answer with another state is refused and the wait goes on; the provider error reaches the window', async () => {
  const d = deps();
  const result = signInWithSystemBrowser(d, { authorizationUrl: authorizationUrl() });
  const opened = await d.opened;
  expect((await redirectTo(opened, { code: 'forged', state: 'other' })).status).toBe(400);
  expect((await redirectTo(opened, { error: 'access_denied', state: 'the-state' })).status).toBe(200);
  expect(new URL(await result).searchParams.get('error')).toBe('access_denied');
});

test('no answer within the timeout, or the caller giving up, is SIGN_IN_CANCELLED, and the listener is closed', async () => {
  const late = deps();
  const timedOut = signInWithSystemBrowser(late, { authorizationUrl: authorizationUrl(), timeoutMs: 100 });
  await expect(timedOut).rejects.toMatchObject({ code: ErrorCode.SIGN_IN_CANCELLED });
  await expect(redirectTo(await late.opened, { code: 'abc', state: 'the-state' })).rejects.toThrow();

  const abandoned = deps();
  const controller = new AbortController();
  const given = signInWithSystemBrowser(abandoned, { authorizationUrl: authorizationUrl(), signal: controller.signal });
  const opened = await abandoned.opened;
  controller.abort();
  await expect(given).rejects.toMatchObject({ code: ErrorCode.SIGN_IN_CANCELLED, message: expect.stringContaining('given up') });
  await expect(redirectTo(opened, { code: 'abc', state: 'the-state' })).rejects.toThrow();
});

test('a request without state, without PKCE S256, or with another redirect URI is SIGN_IN_FAILED and opens nothing', async () => {
  for (const params of [
    { state: '' },
    { code_challenge_method: 'plain' },
    { redirect_uri: 'http://localhost/tokenherd-desktop/callback' },
    { redirect_uri: 'http://127.0.0.1:8080/tokenherd-desktop/callback' },
    { redirect_uri: 'https://app.example/callback' },
  ]) {
    let opened = 0;
    const result = signInWithSystemBrowser({ createServer, openExternal: async () => void opened++ }, { authorizationUrl: authorizationUrl(params) });
    await expect(result).rejects.toMatchObject({ code: ErrorCode.SIGN_IN_FAILED });
    expect(opened).toBe(0);
  }
});

test('a system browser that cannot be opened is SIGN_IN_FAILED, and the listener is closed', async () => {
  let listening: URL | undefined;
  const result = signInWithSystemBrowser(
    {
      createServer,
      openExternal: async (url) => {
        listening = new URL(new URL(url).searchParams.get('redirect_uri')!);
        throw new Error('no browser');
      },
    },
    { authorizationUrl: authorizationUrl() },
  );
  await expect(result).rejects.toMatchObject({ code: ErrorCode.SIGN_IN_FAILED, message: expect.stringContaining('no browser') });
  await expect(fetch(listening!)).rejects.toThrow();
});

test('the window side: the bridge\'s answer is the callback URL, or a TokenHerdError with the code the main process sent', async () => {
  const asked: string[] = [];
  const open = userAgentFromBridge({
    signIn: async (url) => {
      asked.push(url);
      return url.includes('cancel') ? { ok: false, code: ErrorCode.SIGN_IN_CANCELLED, message: 'sign-in cancelled: given up' } : { ok: true, value: `${REDIRECT}?code=c&state=s` };
    },
  });
  expect(await open(authorizationUrl())).toBe(`${REDIRECT}?code=c&state=s`);
  await expect(open(authorizationUrl({ state: 'cancel' }))).rejects.toMatchObject({ name: 'TokenHerdError', code: ErrorCode.SIGN_IN_CANCELLED });
  expect(asked).toEqual([authorizationUrl(), authorizationUrl({ state: 'cancel' })]);
});
