/**
 * The desktop app's configuration, from environment variables (which
 * `npm start` and the Electron tests set). Parsed and checked in one place, so
 * a bad value stops the app at launch with a message instead of weakening an
 * allowlist.
 */
import { MAX_SESSION_KEY_LENGTH } from '../shared/messages.js';
import { APP_ORIGIN } from './app-protocol.js';
import { parseBrokerConfig, type BrokerConfig } from './broker.js';
import { isLoopbackHttp, originOf } from './origins.js';
import { DEFAULT_SIGN_IN_REDIRECT } from './sign-in.js';
import { parseTokenRelayConfig, type TokenRelayConfig } from './token-relay.js';

/** The desktop app's checked configuration: every origin exact, every web URL https or http on a loopback host. */
export interface DesktopConfig {
  /** The OAuth issuer the app windows' coordinators refresh against. */
  readonly issuer: string;
  readonly issuerOrigin: string;
  readonly clientId: string;
  /** The app windows' session key (one provider account). */
  readonly sessionKey: string;
  /** Where app windows load from: the app scheme, or the vite dev server in development. */
  readonly appOrigin: string;
  readonly devServerUrl?: string;
  /** App windows opened at launch. */
  readonly initialWindows: number;
  readonly signInRedirect: string;
  /** TOKENHERD_SIGN_IN_WINDOW=1: sign-in in the embedded sign-in window (RFC 8252 §8.12 advises against it), not the system browser. */
  readonly signInWindow: boolean;
  readonly broker: BrokerConfig;
  /** Set by TOKENHERD_TOKEN_ENDPOINT: app windows refresh through the main process (see token-relay.ts). */
  readonly tokenRelay?: TokenRelayConfig;
  /** The page the embedded view (View > Embedded View) shows, if any. */
  readonly embeddedUrl?: string;
  /** Origins the embedded view may navigate to. */
  readonly embeddedNavigation: ReadonlySet<string>;
  /** Extra query parameters for app pages (the demo's `poll`, `leeway`, ...). */
  readonly appQuery: Readonly<Record<string, string>>;
  /** Exposes `globalThis.tokenherdMain` for the Electron end-to-end tests. */
  readonly testHooks: boolean;
  /** The profile directory (Electron's `userData`): the single-instance lock and all storage live there. */
  readonly userDataDir?: string;
}

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

function fail(message: string): never {
  throw new Error(`tokenherd desktop configuration: ${message}`);
}

function webOrigin(name: string, value: string): URL {
  const url = URL.parse(value);
  if (!url || !(url.protocol === 'https:' || isLoopbackHttp(url))) fail(`${name} must be an https URL (or http on a loopback host), got ${value}`);
  return url;
}

/**
 * Reads and checks the configuration from `env`; throws an Error naming the
 * variable at fault, so a bad value stops the app instead of widening an allowlist.
 */
export function readDesktopConfig(env: Env): DesktopConfig {
  const issuerUrl = webOrigin('TOKENHERD_ISSUER', env['TOKENHERD_ISSUER'] ?? 'http://127.0.0.1:9400');
  const issuer = issuerUrl.href.replace(/\/$/, '');
  const clientId = env['TOKENHERD_CLIENT_ID'] ?? 'tokenherd-dev';
  const sessionKey = env['TOKENHERD_SESSION'] ?? 'demo';
  if (sessionKey === '' || sessionKey.length > MAX_SESSION_KEY_LENGTH) fail('TOKENHERD_SESSION must be a non-empty string');

  const dev = env['TOKENHERD_DEV_SERVER_URL'];
  let devServerUrl: string | undefined;
  if (dev !== undefined && dev !== '') {
    const url = URL.parse(dev);
    if (!url || !isLoopbackHttp(url)) fail(`TOKENHERD_DEV_SERVER_URL must be http on a loopback host, got ${dev}`);
    devServerUrl = url.origin;
  }

  const windows = Number(env['TOKENHERD_WINDOWS'] ?? 2);
  if (!Number.isInteger(windows) || windows < 0 || windows > 16) fail('TOKENHERD_WINDOWS must be a whole number from 0 to 16');

  const signInRedirect = env['TOKENHERD_SIGN_IN_REDIRECT'] ?? DEFAULT_SIGN_IN_REDIRECT;
  const signInRedirectUrl = webOrigin('TOKENHERD_SIGN_IN_REDIRECT', signInRedirect);
  const signInWindow = env['TOKENHERD_SIGN_IN_WINDOW'] === '1';
  if (!signInWindow && (signInRedirectUrl.protocol !== 'http:' || signInRedirectUrl.hostname !== '127.0.0.1' || signInRedirectUrl.port !== '')) {
    fail('TOKENHERD_SIGN_IN_REDIRECT must be http://127.0.0.1/<path> without a port: the system-browser sign-in listens there at a random port');
  }

  const embedded = env['TOKENHERD_EMBEDDED_URL'];
  const embeddedUrl = embedded === undefined || embedded === '' ? undefined : webOrigin('TOKENHERD_EMBEDDED_URL', embedded).href;
  const embeddedOrigin = embeddedUrl === undefined ? undefined : originOf(embeddedUrl);

  let brokerInput: unknown;
  const providers = env['TOKENHERD_PROVIDERS'];
  if (providers !== undefined && providers !== '') {
    try {
      brokerInput = JSON.parse(providers);
    } catch {
      fail('TOKENHERD_PROVIDERS must be JSON: { "providers": [{ "id", "sessionKey", "headerOrigins", "viewOrigins" }], "allowLoopbackHttp" }');
    }
  } else {
    // The reference setup: one provider, the embedded OAuth server; its userinfo endpoint is the API the view calls.
    brokerInput = {
      providers: [{ id: 'demo', sessionKey, headerOrigins: [issuerUrl.origin], viewOrigins: embeddedOrigin === undefined ? [] : [embeddedOrigin] }],
      allowLoopbackHttp: isLoopbackHttp(issuerUrl),
    };
  }
  const broker = parseBrokerConfig(brokerInput);

  let appQuery: Record<string, string> = {};
  const query = env['TOKENHERD_APP_QUERY'];
  if (query !== undefined && query !== '') appQuery = Object.fromEntries(new URLSearchParams(query));

  // A token endpoint that pages cannot use (no CORS, a client secret): the main process relays to it.
  const tokenEndpoint = env['TOKENHERD_TOKEN_ENDPOINT'];
  let tokenRelay: TokenRelayConfig | undefined;
  if (tokenEndpoint !== undefined && tokenEndpoint !== '') {
    try {
      tokenRelay = parseTokenRelayConfig({ tokenEndpoint, clientSecret: env['TOKENHERD_CLIENT_SECRET'] });
    } catch (error) {
      fail(`TOKENHERD_TOKEN_ENDPOINT / TOKENHERD_CLIENT_SECRET: ${(error as Error).message}`);
    }
    appQuery = { ...appQuery, token_endpoint: tokenRelay.tokenEndpoint, relay: '1' };
  } else if (env['TOKENHERD_CLIENT_SECRET'] !== undefined) {
    fail('TOKENHERD_CLIENT_SECRET needs TOKENHERD_TOKEN_ENDPOINT: the secret is only ever sent by the main process');
  }

  return {
    issuer,
    issuerOrigin: issuerUrl.origin,
    clientId,
    sessionKey,
    appOrigin: devServerUrl ?? APP_ORIGIN,
    ...(devServerUrl !== undefined && { devServerUrl }),
    initialWindows: windows,
    signInRedirect,
    signInWindow,
    broker,
    ...(tokenRelay !== undefined && { tokenRelay }),
    ...(embeddedUrl !== undefined && { embeddedUrl }),
    embeddedNavigation: new Set([...(embeddedOrigin === undefined ? [] : [embeddedOrigin]), ...broker.providers.flatMap((p) => [...p.viewOrigins])]),
    appQuery,
    testHooks: env['TOKENHERD_E2E'] === '1',
    ...(env['TOKENHERD_USER_DATA_DIR'] && { userDataDir: env['TOKENHERD_USER_DATA_DIR'] }),
  };
}

/** The URL an app window (or the hidden background window) loads: the demo page with the coordinator's settings. */
export function appPageUrl(config: DesktopConfig, options: { readonly window: string; readonly role: 'window' | 'background' }): string {
  const url = new URL(config.devServerUrl === undefined ? `${config.appOrigin}/index.html` : `${config.devServerUrl}/`);
  url.search = new URLSearchParams({
    issuer: config.issuer,
    client_id: config.clientId,
    session: config.sessionKey,
    window: options.window,
    ...config.appQuery,
    // The background window never polls an API on its own: it only answers the broker.
    ...(options.role === 'background' && { poll: '0' }),
  }).toString();
  return url.href;
}
