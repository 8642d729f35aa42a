import { expect, test } from '@playwright/test';
import { type TokenQuery } from '../desktop/ipc-contract.js';
import { TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { createHeaderInjector, createTokenBroker, decideAuthorization, decideViewAccess, parseBrokerConfig, type TokenSource } from './broker.js';

const config = parseBrokerConfig({
  providers: [
    { id: 'github', sessionKey: 'github:alice', headerOrigins: ['https://api.github.com'], viewOrigins: ['https://github.com'] },
    { id: 'docs', sessionKey: 'docs', headerOrigins: ['https://docs.example.com:8443'], viewOrigins: [] },
  ],
});

/** A source that answers from a counter, records what it was asked, and can be held. */
function countingSource() {
  const asked: Array<{ sessionKey: string; query: TokenQuery }> = [];
  let token = 'at-1';
  let hold: Promise<void> | undefined;
  const source: TokenSource = {
    async requestToken(sessionKey, query) {
      asked.push({ sessionKey, query });
      await hold;
      if (query.forceRefresh) token = `at-${Number(token.slice(3)) + 1}`;
      return token;
    },
  };
  return {
    source,
    asked,
    hold(until: Promise<void>) {
      hold = until;
    },
    set: (next: string) => void (token = next),
  };
}

test.describe('allowlist configuration', () => {
  test('entries are exact origins: paths, wildcards, credentials, http and duplicates are refused with the entry named', () => {
    const bad: Array<[unknown, RegExp]> = [
      [{ providers: [{ id: 'g', sessionKey: 'k', headerOrigins: ['https://*.github.com'] }] }, /wildcards/],
      [{ providers: [{ id: 'g', sessionKey: 'k', headerOrigins: ['https://api.github.com/repos'] }] }, /nothing after it/],
      [{ providers: [{ id: 'g', sessionKey: 'k', headerOrigins: ['https://u:p@api.github.com'] }] }, /nothing after it/],
      [{ providers: [{ id: 'g', sessionKey: 'k', headerOrigins: ['http://api.github.com'] }] }, /only https/],
      [{ providers: [{ id: 'g', sessionKey: 'k', headerOrigins: ['http://127.0.0.1:9400'] }] }, /only https/],
      [{ providers: [{ id: 'g', sessionKey: 'k', viewOrigins: ['api.github.com'] }] }, /not an absolute URL/],
      [{ providers: [{ id: 'g', sessionKey: 'k' }, { id: 'g', sessionKey: 'k2' }] }, /twice/],
      [{ providers: [{ id: 'a', sessionKey: 'k', headerOrigins: ['https://x.com'] }, { id: 'b', sessionKey: 'k', headerOrigins: ['https://x.com'] }] }, /both a and b/],
      [{ providers: [{ id: 'Bad Id', sessionKey: 'k' }] }, /id must match/],
      [{ providers: [{ id: 'g', sessionKey: '' }] }, /sessionKey/],
      [{ providers: [{ id: 'g', sessionKey: 'k', hosts: [] }] }, /unknown fields hosts/],
      [{ providers: {} }, /providers must be an array/],
    ];
    for (const [input, message] of bad) expect(() => parseBrokerConfig(input), JSON.stringify(input)).toThrow(message);
  });

  test('loopback http is accepted only when the configuration says development', () => {
    const dev = parseBrokerConfig({ allowLoopbackHttp: true, providers: [{ id: 'd', sessionKey: 'k', headerOrigins: ['http://127.0.0.1:9400/'] }] });
    expect([...dev.providers[0]!.headerOrigins]).toEqual(['http://127.0.0.1:9400']);
    expect(() => parseBrokerConfig({ allowLoopbackHttp: true, providers: [{ id: 'd', sessionKey: 'k', headerOrigins: ['http://10.0.0.1'] }] })).toThrow(/only https/);
  });
});

test.describe('header injection decision', () => {
  const cases: Array<[string, string | false]> = [
    ['https://api.github.com/user', 'github'],
    ['https://api.github.com:443/repos?x=1', 'github'],
    ['https://docs.example.com:8443/a', 'docs'],
    ['https://docs.example.com/a', false], // another port is another origin
    ['http://api.github.com/user', false], // not https
    ['wss://api.github.com/socket', false],
    ['https://api.github.com.evil.com/', false],
    ['https://evil.com/?https://api.github.com', false],
    ['https://user:pw@api.github.com/', false],
    ['https://github.com/', false], // a view origin is not a header origin
    ['not a url', false],
  ];
  for (const [url, provider] of cases) {
    test(`${url} -> ${provider || 'no header'}`, () => {
      const decision = decideAuthorization(config, url);
      expect(decision.inject ? decision.provider.id : false).toBe(provider);
    });
  }
  test('loopback http only in development configuration', () => {
    const dev = parseBrokerConfig({ allowLoopbackHttp: true, providers: [{ id: 'd', sessionKey: 'k', headerOrigins: ['http://127.0.0.1:9400'] }] });
    expect(decideAuthorization(dev, 'http://127.0.0.1:9400/me').inject).toBe(true);
    expect(decideAuthorization(dev, 'http://127.0.0.1:9401/me').inject).toBe(false);
  });
});

test.describe('view access decision', () => {
  test('only an allowlisted frame origin, only for its provider', () => {
    expect(decideViewAccess(config, 'https://github.com', 'github')).toMatchObject({ allowed: true });
    expect(decideViewAccess(config, 'https://gist.github.com', 'github')).toMatchObject({ allowed: false, code: DesktopErrorCode.NOT_ALLOWED });
    expect(decideViewAccess(config, 'https://github.com', 'docs')).toMatchObject({ allowed: false, code: DesktopErrorCode.NOT_ALLOWED });
    expect(decideViewAccess(config, undefined, 'github')).toMatchObject({ allowed: false, code: DesktopErrorCode.NOT_ALLOWED });
    expect(decideViewAccess(config, 'https://github.com', 'gitlab')).toMatchObject({ allowed: false, code: DesktopErrorCode.UNKNOWN_PROVIDER });
  });
});

test.describe('the broker', () => {
  test('concurrent callers share one request to the windows; the session key comes from the configuration', async () => {
    const s = countingSource();
    let release!: () => void;
    s.hold(new Promise((r) => (release = r)));
    const broker = createTokenBroker(config, s.source);
    const all = Promise.all([broker.getAccessToken('github'), broker.viewAccessToken('https://github.com', 'github'), broker.getAccessToken('github')]);
    release();
    expect(await all).toEqual(['at-1', 'at-1', 'at-1']);
    expect(s.asked).toEqual([{ sessionKey: 'github:alice', query: {} }]);
  });

  test('a view of another origin is refused before any window is asked', async () => {
    const s = countingSource();
    const broker = createTokenBroker(config, s.source);
    await expect(broker.viewAccessToken('https://evil.example', 'github')).rejects.toMatchObject({ code: DesktopErrorCode.NOT_ALLOWED });
    await expect(broker.getAccessToken('nope')).rejects.toMatchObject({ code: DesktopErrorCode.UNKNOWN_PROVIDER });
    expect(s.asked).toEqual([]);
  });

  test('a refused token is replaced by forcing a newer generation once, and only while the window still holds it', async () => {
    const s = countingSource();
    const broker = createTokenBroker(config, s.source);
    expect(await broker.getAccessToken('github')).toBe('at-1');
    broker.reportRefused('github', 'at-1');
    expect(await broker.getAccessToken('github')).toBe('at-2');
    expect(s.asked.map((a) => a.query)).toEqual([{}, {}, { forceRefresh: true }]);
    expect(await broker.getAccessToken('github')).toBe('at-2');
    expect(s.asked).toHaveLength(4); // no more forcing
    // Refused, but another window had already moved on: no forced refresh.
    broker.reportRefused('github', 'at-2');
    s.set('at-9');
    expect(await broker.getAccessToken('github')).toBe('at-9');
    expect(s.asked.at(-1)?.query).toEqual({});
  });

  test('errors keep their code', async () => {
    const broker = createTokenBroker(config, {
      requestToken: async () => {
        throw new TokenHerdError('NOT_SIGNED_IN', 'sign in first');
      },
    });
    await expect(broker.getAccessToken('github')).rejects.toMatchObject({ code: 'NOT_SIGNED_IN' });
  });
});

test.describe('header injector', () => {
  test('allowlisted: Authorization replaced by the bearer token (whatever the case of the page header); other origins untouched', async () => {
    const injector = createHeaderInjector(createTokenBroker(config, countingSource().source));
    expect(await injector.headersFor({ id: 1, url: 'https://api.github.com/user', requestHeaders: { Accept: 'x', authorization: 'Basic Zm9v' } })).toEqual({
      Accept: 'x',
      Authorization: 'Bearer at-1',
    });
    expect(await injector.headersFor({ id: 2, url: 'https://example.com/', requestHeaders: { Accept: 'x' } })).toEqual({ Accept: 'x' });
    expect(await injector.headersFor({ url: 'http://api.github.com/user', requestHeaders: {} })).toEqual({});
  });

  test('a redirect from the allowlisted origin elsewhere leaves the token behind', async () => {
    const injector = createHeaderInjector(createTokenBroker(config, countingSource().source));
    const first = await injector.headersFor({ id: 7, url: 'https://api.github.com/download', requestHeaders: {} });
    expect(first['Authorization']).toBe('Bearer at-1');
    // Electron calls the hook again for the redirected request, same id, with the headers it had.
    expect(await injector.headersFor({ id: 7, url: 'https://objects.example-cdn.com/blob', requestHeaders: first })).toEqual({});
  });

  test('no token to be had (signed out): the request goes without credentials instead of hanging', async () => {
    const problems: string[] = [];
    const broker = createTokenBroker(config, { requestToken: () => Promise.reject(new TokenHerdError('NOT_SIGNED_IN', 'sign in first')) });
    const injector = createHeaderInjector(broker, { onProblem: (p) => problems.push(p) });
    expect(await injector.headersFor({ id: 1, url: 'https://api.github.com/user', requestHeaders: { Authorization: 'Bearer stale' } })).toEqual({});
    expect(problems).toHaveLength(1);
  });

  test('a 401 to a request that carried an injected token makes the next request ask for a newer one', async () => {
    const s = countingSource();
    const injector = createHeaderInjector(createTokenBroker(config, s.source));
    await injector.headersFor({ id: 1, url: 'https://api.github.com/user', requestHeaders: {} });
    injector.completed({ id: 1, statusCode: 401 });
    injector.completed({ id: 1, statusCode: 401 }); // reported once only
    expect((await injector.headersFor({ id: 2, url: 'https://api.github.com/user', requestHeaders: {} }))['Authorization']).toBe('Bearer at-2');
    injector.completed({ id: 2, statusCode: 200 });
    injector.completed({ id: 99, statusCode: 401 }); // not ours
    expect((await injector.headersFor({ id: 3, url: 'https://api.github.com/user', requestHeaders: {} }))['Authorization']).toBe('Bearer at-2');
    expect(s.asked.filter((a) => a.query.forceRefresh)).toHaveLength(1);
  });
});
