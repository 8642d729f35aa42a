import 'fake-indexeddb/auto';
import { expect, test } from '@playwright/test';
import { startOAuthServer, type OAuthServer } from '../../dev/oauth-server.js';
import { createDpop, type Dpop } from './dpop.js';
import { createDpopFetch } from './dpop-fetch.js';
import { createDpopKeyStore, generateDpopKeyPair } from './dpop-key-store.js';
import { openTokenHerdDatabase } from './indexeddb-store.js';
import { createTokenEndpoint } from '../oauth/token-endpoint.js';

// Node has no Web Locks; the browser tests (e2e/dpop.spec.ts) use the real ones.
const locks = { request: (_name: string, callback: () => Promise<unknown>) => callback() } as unknown as LockManager;
const signal = new AbortController().signal;

let server: OAuthServer;
test.beforeAll(async () => {
  server = await startOAuthServer({ dpop: 'required', accessTokenTtlSeconds: 600 });
});
test.afterAll(() => server.close());
test.afterEach(() => {
  server.requireDpopNonce(false);
  server.resetStats();
});

let databases = 0;
/** A fresh database with a session signed in at the server, bound to the key stored in it. */
async function signedIn(): Promise<{ databaseName: string; refreshToken: string; accessToken: string }> {
  const databaseName = `dpop-${++databases}`;
  const keyPair = await generateDpopKeyPair();
  const keys = createDpopKeyStore(databaseName);
  await keys.put('k', keyPair);
  keys.close();
  const session = await server.mintSession('alice', { dpop: keyPair });
  return { databaseName, refreshToken: String(session['refresh_token']), accessToken: String(session['access_token']) };
}

const endpointFor = (dpop: Dpop) =>
  createTokenEndpoint({ issuer: server.issuer, tokenEndpoint: server.tokenEndpoint, client: { client_id: server.clientId }, allowInsecureRequests: true, dpop });

test('the key pair is ES256 with a private key that cannot be exported, also after a round trip through IndexedDB', async () => {
  const keys = createDpopKeyStore('keys');
  const stored = await keys.put('k', await generateDpopKeyPair());
  const read = await keys.read('k');
  expect(read?.jkt).toBe(stored.jkt);
  expect(read?.keyPair.privateKey.extractable).toBe(false);
  await expect(crypto.subtle.exportKey('jwk', read!.keyPair.privateKey)).rejects.toThrow();
  await expect(crypto.subtle.exportKey('pkcs8', read!.keyPair.privateKey)).rejects.toThrow();
  await keys.delete('k');
  expect(await keys.read('k')).toBeUndefined();
  keys.close();
});

test('a stored key that is extractable, or not a key pair, counts as no key', async () => {
  const db = await openTokenHerdDatabase('planted', {});
  const extractable = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  await db.put('dpopKeys', { sessionKey: 'a', keyPair: extractable, jkt: 'x', createdAt: 0 });
  await db.put('dpopKeys', { sessionKey: 'b', keyPair: { privateKey: 'secret' }, jkt: 'x', createdAt: 0 } as never);
  db.close();
  const keys = createDpopKeyStore('planted');
  expect(await keys.read('a')).toBeUndefined();
  expect(await keys.read('b')).toBeUndefined();
  keys.close();
});

test('a refresh carries a proof of the stored key; the nonce one window learned spares the other windows the challenge', async () => {
  const { databaseName, refreshToken } = await signedIn();
  server.requireDpopNonce(true);
  const first = createDpop({ sessionKey: 'k', databaseName, locks });
  const outcome = await endpointFor(first).refresh(refreshToken, { signal });
  expect(outcome).toMatchObject({ kind: 'tokens', response: { token_type: 'DPoP' } });
  expect(server.dpopStats().nonceChallenges).toBe(1);
  // Another window (its own memory, the same database) refreshes with the stored nonce at once.
  const second = createDpop({ sessionKey: 'k', databaseName, locks });
  const next = await endpointFor(second).refresh(String((outcome as { response: { refresh_token: string } }).response.refresh_token), { signal });
  expect(next).toMatchObject({ kind: 'tokens', response: { token_type: 'DPoP' } });
  expect(server.dpopStats()).toMatchObject({ nonceChallenges: 1, jkts: [expect.any(String)] });
  expect(server.stats()).toMatchObject({ refreshRequests: 3, refreshSucceeded: 2, grantsRevoked: 0 });
  first.close();
  second.close();
});

test('no key stored: the refresh counts as rejected and nothing is sent', async () => {
  const { databaseName, refreshToken } = await signedIn();
  const dpop = createDpop({ sessionKey: 'k', databaseName, locks });
  await dpop.forget();
  expect(await endpointFor(dpop).refresh(refreshToken, { signal })).toMatchObject({ kind: 'rejected', error: 'dpop_key_missing' });
  expect(server.stats().refreshRequests).toBe(0);
  dpop.close();
});

test('the DPoP fetch: Authorization DPoP with a proof carrying ath, one retry on a nonce challenge, a refusal returned as is', async () => {
  const { databaseName, accessToken } = await signedIn();
  server.requireDpopNonce(true);
  const dpop = createDpop({ sessionKey: 'k', databaseName, locks });
  const sent: Request[] = [];
  const send = createDpopFetch({ dpop, allowInsecureRequests: true, fetch: (input, init) => {
    const request = new Request(input, init);
    sent.push(request.clone());
    return fetch(request);
  } });
  const response = await send(new Request(server.userinfoEndpoint, { headers: { 'x-caller': 'kept' } }), accessToken);
  expect(response?.status).toBe(200);
  expect(sent).toHaveLength(2); // the challenge, then the retry
  const last = sent[1]!;
  expect(last.headers.get('authorization')).toBe(`DPoP ${accessToken}`);
  expect(last.headers.get('x-caller')).toBe('kept');
  const claims = JSON.parse(Buffer.from(last.headers.get('dpop')!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  const ath = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken))).toString('base64url');
  expect(claims).toMatchObject({ htm: 'GET', htu: server.userinfoEndpoint, ath, nonce: expect.any(String) });
  expect(server.dpopStats()).toMatchObject({ nonceChallenges: 1, userinfoOk: 1 });

  // A token the server does not know: a 401 with its challenge, returned rather than thrown, and not retried.
  const refused = await send(new Request(server.userinfoEndpoint), 'not-a-token');
  expect(refused?.status).toBe(401);
  expect(sent).toHaveLength(3);
  dpop.close();
});

test('the DPoP fetch without a key sends nothing', async () => {
  const { databaseName, accessToken } = await signedIn();
  const dpop = createDpop({ sessionKey: 'k', databaseName, locks });
  await dpop.forget();
  let sent = 0;
  const send = createDpopFetch({ dpop, allowInsecureRequests: true, fetch: () => Promise.resolve(new Response(null, { status: 599 + ++sent })) });
  expect(await send(new Request(server.userinfoEndpoint), accessToken)).toBeUndefined();
  expect(sent).toBe(0);
  dpop.close();
});

test('signIn: the code exchange is bound to a new key, which is stored only if the exchange succeeds', async () => {
  const { databaseName } = await signedIn();
  const dpop = createDpop({ sessionKey: 'k', databaseName, locks });
  const before = await dpop.key();
  await expect(dpop.signIn(() => Promise.reject(new Error('the user cancelled')), () => Promise.resolve())).rejects.toThrow('cancelled');
  expect((await dpop.key())?.jkt).toBe(before?.jkt);

  let stored: unknown;
  let thumbprint: string | undefined;
  await dpop.signIn(async (options) => {
    thumbprint = await options.DPoP.calculateThumbprint();
    return { token_type: 'DPoP' };
  }, async (response) => {
    stored = response;
    expect((await dpop.key())?.jkt).toBe(thumbprint); // stored before the session, so every window finds it
  });
  expect(stored).toEqual({ token_type: 'DPoP' });
  expect(thumbprint).not.toBe(before?.jkt);
  dpop.close();
});

test("the DPoP fetch sends the caller's request as built (method, body) with a proof for that method and URL", async () => {
  const { databaseName, accessToken } = await signedIn();
  const dpop = createDpop({ sessionKey: 'k', databaseName, locks });
  const sent: Array<{ method: string; body: string; proof: Record<string, unknown> }> = [];
  const send = createDpopFetch({ dpop, fetch: async (input, init) => {
    const request = new Request(input, init);
    const proof = JSON.parse(Buffer.from(request.headers.get('dpop')!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    sent.push({ method: request.method, body: await request.text(), proof });
    return new Response(null, { status: 201 });
  } });
  const request = new Request('https://api.example/items?x=1#top', { method: 'POST', body: 'payload' });
  expect((await send(request, accessToken))?.status).toBe(201);
  expect((await send(request, accessToken))?.status).toBe(201); // the caller's request is reusable: each attempt is a clone
  expect(sent.map(({ method, body }) => [method, body])).toEqual([['POST', 'payload'], ['POST', 'payload']]);
  expect(sent[0]!.proof).toMatchObject({ htm: 'POST', htu: 'https://api.example/items' });
  expect(sent[0]!.proof['jti']).not.toBe(sent[1]!.proof['jti']);
  dpop.close();
});
