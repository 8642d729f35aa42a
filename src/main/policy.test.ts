import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { readArgument } from '../preload/ipc.js';
import { ARG_ROLE } from '../desktop/ipc-contract.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { APP_ORIGIN, appResponseHeaders, resolveAppFile } from './app-protocol.js';
import { appPageUrl, readDesktopConfig } from './config.js';
import { appContentSecurityPolicy } from './csp.js';
import { allowAppNavigation, allowViewNavigation, decideAppWindowOpen, decideViewWindowOpen, isSafeExternalUrl } from './navigation.js';
import { originOf } from './origins.js';
import { checkAuthorizationUrl, matchRedirect } from './sign-in.js';
import { focusForSecondInstance, type FocusableWindow } from './single-instance.js';

test.describe('origins', () => {
  test('the app scheme has a real origin (WHATWG URL says "null" for non-special schemes)', () => {
    expect(originOf('tokenherd://app/index.html?x=1')).toBe('tokenherd://app');
    expect(originOf('https://api.github.com:443/x')).toBe('https://api.github.com');
    expect(originOf('http://127.0.0.1:9400/me')).toBe('http://127.0.0.1:9400');
    expect(originOf('about:blank')).toBeUndefined();
    expect(originOf('data:text/html,hi')).toBeUndefined();
    expect(originOf('nonsense')).toBeUndefined();
  });
});

test.describe('navigation and window.open allowlists', () => {
  test('an app window stays on the app origin', () => {
    expect(allowAppNavigation(`${APP_ORIGIN}/index.html`, APP_ORIGIN)).toBe(true);
    for (const url of ['https://github.com/login', 'tokenherd://other/', 'file:///etc/passwd', 'javascript:alert(1)', 'http://127.0.0.1:9400/auth']) {
      expect(allowAppNavigation(url, APP_ORIGIN), url).toBe(false);
    }
  });
  test('window.open: the app opens another app window; https goes to the system browser; the rest is denied', () => {
    expect(decideAppWindowOpen(`${APP_ORIGIN}/index.html?window=x`, APP_ORIGIN)).toBe('open-app-window');
    expect(decideAppWindowOpen('https://docs.github.com/', APP_ORIGIN)).toBe('open-external');
    for (const url of ['http://example.com/', 'file:///C:/Windows/system32/calc.exe', 'smb://host/share', 'javascript:1', 'https://u:p@x.com/']) {
      expect(decideAppWindowOpen(url, APP_ORIGIN), url).toBe('deny');
    }
    expect(isSafeExternalUrl('ms-msdt:/id')).toBe(false);
  });
  test('an embedded view stays on its configured origins and never opens an Electron window', () => {
    const allowed = new Set(['https://github.com']);
    expect(allowViewNavigation('https://github.com/pulls', allowed)).toBe(true);
    expect(allowViewNavigation('https://evil.example/', allowed)).toBe(false);
    expect(allowViewNavigation(`${APP_ORIGIN}/index.html`, allowed)).toBe(false);
    expect(decideViewWindowOpen(`${APP_ORIGIN}/index.html`)).toBe('deny');
    expect(decideViewWindowOpen('https://github.com/x')).toBe('open-external');
  });
});

test.describe('content security policy', () => {
  test('production: scripts and styles from the app only, connect-src names the issuer, nothing inline or framed', () => {
    const csp = appContentSecurityPolicy({ connectOrigins: ['https://github.com'] });
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("connect-src 'self' https://github.com;");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe');
  });
  test('development adds only the dev server HMR socket and injected styles', () => {
    const csp = appContentSecurityPolicy({ connectOrigins: ['http://127.0.0.1:9400'], devServerOrigin: 'http://127.0.0.1:5173' });
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:9400 ws://127.0.0.1:5173;");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("script-src 'self';");
  });
});

test.describe('the app scheme', () => {
  const root = resolve('/opt/tokenherd/dist/demo');
  test('serves files under the root with their type; documents get the CSP', () => {
    expect(resolveAppFile('tokenherd://app/', 'GET', root)).toEqual({ path: join(root, 'index.html'), contentType: 'text/html; charset=utf-8' });
    expect(resolveAppFile('tokenherd://app/assets/index-1.js?v=2', 'GET', root)).toMatchObject({ path: join(root, 'assets', 'index-1.js') });
    const headers = appResponseHeaders({ contentType: 'text/html; charset=utf-8' }, "default-src 'none'");
    expect(headers['Content-Security-Policy']).toBe("default-src 'none'");
    expect(appResponseHeaders({ contentType: 'text/css; charset=utf-8' }, 'x')['Content-Security-Policy']).toBeUndefined();
  });
  test('refuses traversal, other hosts, unknown types and writes', () => {
    for (const url of ['tokenherd://app/..%2f..%2fetc/passwd.js', 'tokenherd://app/a%5c..%5c..%5cb.js', 'tokenherd://app/x%00.js', 'tokenherd://app/%E0%A4%A']) {
      expect(resolveAppFile(url, 'GET', root), url).toMatchObject({ status: 400 });
    }
    // URL parsing already folds dot segments (also percent-encoded ones) into the root.
    expect(resolveAppFile('tokenherd://app/%2e%2e/%2e%2e/etc/x.js', 'GET', root)).toMatchObject({ path: join(root, 'etc', 'x.js') });
    expect(resolveAppFile('tokenherd://other/index.html', 'GET', root)).toMatchObject({ status: 404 });
    expect(resolveAppFile('tokenherd://app/secret.pem', 'GET', root)).toMatchObject({ status: 404 });
    expect(resolveAppFile('tokenherd://app/index.html', 'POST', root)).toMatchObject({ status: 405 });
  });
});

test.describe('sign-in', () => {
  const redirect = 'http://127.0.0.1/tokenherd-desktop/callback';
  const auth = (origin: string, redirectUri: string) => `${origin}/auth?${new URLSearchParams({ client_id: 'c', redirect_uri: redirectUri })}`;
  test('only the configured issuer, only with the intercepted redirect URI', () => {
    expect(checkAuthorizationUrl(auth('https://github.com', redirect), 'https://github.com', redirect).origin).toBe('https://github.com');
    expect(() => checkAuthorizationUrl(auth('https://evil.example', redirect), 'https://github.com', redirect)).toThrow(
      expect.objectContaining({ code: DesktopErrorCode.NOT_ALLOWED }),
    );
    expect(() => checkAuthorizationUrl(auth('https://github.com', 'https://evil.example/cb'), 'https://github.com', redirect)).toThrow(
      expect.objectContaining({ code: DesktopErrorCode.NOT_ALLOWED }),
    );
  });
  test('the redirect is recognised by origin and path, with any query', () => {
    expect(matchRedirect(`${redirect}?code=abc&state=s`, redirect)).toBe(`${redirect}?code=abc&state=s`);
    expect(matchRedirect('http://127.0.0.1:8080/tokenherd-desktop/callback?code=x', redirect)).toBeUndefined();
    expect(matchRedirect('http://127.0.0.1/tokenherd-desktop/callbackx', redirect)).toBeUndefined();
    expect(matchRedirect('https://github.com/login', redirect)).toBeUndefined();
  });
});

test.describe('single instance', () => {
  function win(options: { minimized?: boolean; destroyed?: boolean } = {}) {
    const calls: string[] = [];
    const w: FocusableWindow & { calls: string[] } = {
      calls,
      isDestroyed: () => options.destroyed === true,
      isMinimized: () => options.minimized === true,
      restore: () => void calls.push('restore'),
      show: () => void calls.push('show'),
      focus: () => void calls.push('focus'),
    };
    return w;
  }
  test('a second launch restores and focuses the most recently used window', () => {
    const recent = win({ minimized: true });
    const older = win();
    let opened = 0;
    expect(focusForSecondInstance([recent, older], () => opened++)).toBe('focused');
    expect(recent.calls).toEqual(['restore', 'show', 'focus']);
    expect(older.calls).toEqual([]);
    expect(opened).toBe(0);
  });
  test('with no window left it opens one', () => {
    let opened = 0;
    expect(focusForSecondInstance([win({ destroyed: true })], () => opened++)).toBe('opened');
    expect(opened).toBe(1);
  });
});

test.describe('configuration', () => {
  test('defaults: the embedded dev OAuth server, two windows, the app scheme, one provider whose API is the issuer', () => {
    const config = readDesktopConfig({});
    expect(config).toMatchObject({ issuer: 'http://127.0.0.1:9400', appOrigin: APP_ORIGIN, initialWindows: 2, sessionKey: 'demo', testHooks: false });
    expect(config.broker.allowLoopbackHttp).toBe(true);
    expect([...config.broker.providers[0]!.headerOrigins]).toEqual(['http://127.0.0.1:9400']);
    expect(appPageUrl(config, { window: '1', role: 'window' })).toBe(
      'tokenherd://app/index.html?issuer=http%3A%2F%2F127.0.0.1%3A9400&client_id=tokenherd-dev&session=demo&window=1',
    );
  });
  test('an https issuer does not allow loopback http; the dev server and an embedded page are used when given', () => {
    const config = readDesktopConfig({
      TOKENHERD_ISSUER: 'https://github.com',
      TOKENHERD_DEV_SERVER_URL: 'http://127.0.0.1:5173',
      TOKENHERD_EMBEDDED_URL: 'https://github.com/pulls',
      TOKENHERD_APP_QUERY: 'poll=0&leeway=0',
    });
    expect(config.broker.allowLoopbackHttp).toBe(false);
    expect(config.appOrigin).toBe('http://127.0.0.1:5173');
    expect([...config.embeddedNavigation]).toEqual(['https://github.com']);
    const background = new URL(appPageUrl(config, { window: 'b', role: 'background' }));
    expect(background.origin).toBe('http://127.0.0.1:5173');
    expect(Object.fromEntries(background.searchParams)).toMatchObject({ issuer: 'https://github.com', window: 'b', leeway: '0', poll: '0' });
  });
  test('bad values stop the app with a message instead of weakening an allowlist', () => {
    expect(() => readDesktopConfig({ TOKENHERD_ISSUER: 'http://github.com' })).toThrow(/TOKENHERD_ISSUER/);
    expect(() => readDesktopConfig({ TOKENHERD_DEV_SERVER_URL: 'http://example.com:5173' })).toThrow(/loopback/);
    expect(() => readDesktopConfig({ TOKENHERD_PROVIDERS: '{not json' })).toThrow(/JSON/);
    expect(() => readDesktopConfig({ TOKENHERD_PROVIDERS: JSON.stringify({ providers: [{ id: 'g', sessionKey: 'k', headerOrigins: ['https://*.x.com'] }] }) })).toThrow(
      /wildcards/,
    );
    expect(() => readDesktopConfig({ TOKENHERD_WINDOWS: '-1' })).toThrow(/TOKENHERD_WINDOWS/);
    expect(() => readDesktopConfig({ TOKENHERD_TOKEN_ENDPOINT: 'http://github.com/login/oauth/access_token' })).toThrow(/TOKENHERD_TOKEN_ENDPOINT/);
    expect(() => readDesktopConfig({ TOKENHERD_CLIENT_SECRET: 'secret' })).toThrow(/needs TOKENHERD_TOKEN_ENDPOINT/);
    // The system-browser sign-in listens on 127.0.0.1 at a port of its own choosing; the opt-in sign-in window only intercepts.
    expect(() => readDesktopConfig({ TOKENHERD_SIGN_IN_REDIRECT: 'http://127.0.0.1:8000/callback' })).toThrow(/without a port/);
    expect(() => readDesktopConfig({ TOKENHERD_SIGN_IN_REDIRECT: 'http://localhost/callback' })).toThrow(/TOKENHERD_SIGN_IN_REDIRECT/);
    expect(readDesktopConfig({ TOKENHERD_SIGN_IN_REDIRECT: 'http://localhost/callback', TOKENHERD_SIGN_IN_WINDOW: '1' }).signInWindow).toBe(true);
  });
  test('a token endpoint to relay to: the main process keeps the secret, the pages are told to relay', () => {
    const config = readDesktopConfig({
      TOKENHERD_ISSUER: 'https://github.com',
      TOKENHERD_TOKEN_ENDPOINT: 'https://github.com/login/oauth/access_token',
      TOKENHERD_CLIENT_SECRET: 'app-secret',
    });
    expect(config.tokenRelay).toEqual({ tokenEndpoint: 'https://github.com/login/oauth/access_token', clientSecret: 'app-secret' });
    const page = appPageUrl(config, { window: '1', role: 'window' });
    expect(Object.fromEntries(new URL(page).searchParams)).toMatchObject({ token_endpoint: 'https://github.com/login/oauth/access_token', relay: '1' });
    expect(page).not.toContain('app-secret');
    expect(readDesktopConfig({}).tokenRelay).toBeUndefined();
  });
});

test('the preload reads what the main process passed in additionalArguments', () => {
  expect(readArgument(['electron', '--x=1', `${ARG_ROLE}background`], ARG_ROLE)).toBe('background');
  expect(readArgument(['electron'], ARG_ROLE)).toBeUndefined();
});
