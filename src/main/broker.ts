/**
 * The token broker: gives embedded views (other origins, other partitions) and
 * the main process itself an access token, never a refresh token, by asking the
 * app windows' coordinators, so every refresh still happens under the one Web
 * Lock of the app's storage partition. Pure logic: the transport to the windows
 * is a {@link TokenSource}, so the same code runs in Electron's main process and
 * in the Chromium test.
 */
import { PROVIDER_ID, type TokenQuery } from '../desktop/ipc-contract.js';
import { TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { MAX_SESSION_KEY_LENGTH } from '../shared/messages.js';
import { allowlistOrigin, isLoopbackHttp, originOf } from './origins.js';

/** One provider account of the broker's allowlist, checked by {@link parseBrokerConfig}. */
export interface BrokerProvider {
  /** Names the provider in `getAccessToken(provider)`, e.g. `github`. */
  readonly id: string;
  /** The coordinators' `sessionKey` of this provider account. */
  readonly sessionKey: string;
  /** Exact origins whose requests from embedded views get `Authorization: Bearer <access token>`. */
  readonly headerOrigins: ReadonlySet<string>;
  /** Exact origins of embedded pages that may call `getAccessToken(provider)`. */
  readonly viewOrigins: ReadonlySet<string>;
}

/**
 * The broker's allowlist. As {@link parseBrokerConfig} builds it, every origin in it
 * is exact (no wildcard), https unless `allowLoopbackHttp`, and each header origin
 * belongs to one provider only.
 */
export interface BrokerConfig {
  readonly providers: readonly BrokerProvider[];
  /** Development only: lets `http://127.0.0.1:PORT` (and other loopback hosts) be allowlisted. */
  readonly allowLoopbackHttp: boolean;
}

/** The configuration as JSON (`TOKENHERD_PROVIDERS`, a config file, code). */
export interface BrokerConfigInput {
  readonly providers: ReadonlyArray<{
    readonly id: string;
    readonly sessionKey: string;
    readonly headerOrigins?: readonly string[];
    readonly viewOrigins?: readonly string[];
  }>;
  readonly allowLoopbackHttp?: boolean;
}

/** Validates the allowlist; throws an Error that names the offending entry. */
export function parseBrokerConfig(input: unknown): BrokerConfig {
  const fail = (message: string): never => {
    throw new Error(`Invalid broker configuration: ${message}`);
  };
  if (typeof input !== 'object' || input === null) fail('expected an object');
  const { providers, allowLoopbackHttp = false } = input as Record<string, unknown>;
  if (typeof allowLoopbackHttp !== 'boolean') fail('allowLoopbackHttp must be a boolean');
  if (!Array.isArray(providers)) fail('providers must be an array');
  const ids = new Set<string>();
  const headerOwners = new Map<string, string>();
  const parsed = (providers as unknown[]).map((entry, index): BrokerProvider => {
    if (typeof entry !== 'object' || entry === null) fail(`providers[${index}] must be an object`);
    const { id, sessionKey, headerOrigins = [], viewOrigins = [], ...extra } = entry as Record<string, unknown>;
    if (Object.keys(extra).length > 0) fail(`providers[${index}] has unknown fields ${Object.keys(extra).join(', ')}`);
    if (typeof id !== 'string' || !PROVIDER_ID.test(id)) fail(`providers[${index}].id must match ${PROVIDER_ID}`);
    if (ids.has(id as string)) fail(`provider ${String(id)} is configured twice`);
    ids.add(id as string);
    if (typeof sessionKey !== 'string' || sessionKey === '' || sessionKey.length > MAX_SESSION_KEY_LENGTH) fail(`provider ${String(id)}: sessionKey must be a non-empty string`);
    const origins = (name: string, list: unknown): Set<string> => {
      if (!Array.isArray(list)) fail(`provider ${String(id)}: ${name} must be an array`);
      return new Set(
        (list as unknown[]).map((item) => {
          try {
            return allowlistOrigin(item, allowLoopbackHttp as boolean);
          } catch (error) {
            return fail(`provider ${String(id)}: ${name}: ${(error as Error).message}`);
          }
        }),
      );
    };
    const headers = origins('headerOrigins', headerOrigins);
    for (const origin of headers) {
      const owner = headerOwners.get(origin);
      if (owner !== undefined) fail(`${origin} is a header origin of both ${owner} and ${String(id)}`);
      headerOwners.set(origin, id as string);
    }
    return { id: id as string, sessionKey: sessionKey as string, headerOrigins: headers, viewOrigins: origins('viewOrigins', viewOrigins) };
  });
  return { providers: parsed, allowLoopbackHttp: allowLoopbackHttp as boolean };
}

/** Whether a request gets a provider's access token as its `Authorization` header, and whose; or why not. */
export type AuthorizationDecision =
  | { readonly inject: true; readonly provider: BrokerProvider }
  | { readonly inject: false; readonly reason: string };

/**
 * Whether a request of an embedded view to `url` gets the Authorization header:
 * only to an exact allowlisted origin, only over https (or loopback http when
 * the configuration allows it for development). Everything else: no header.
 * @see RFC 6750 §2.1 (the Authorization request header field), §5.3 (bearer tokens over TLS only)
 */
export function decideAuthorization(config: BrokerConfig, url: string): AuthorizationDecision {
  const parsed = URL.parse(url);
  if (!parsed) return { inject: false, reason: 'not a URL' };
  if (parsed.protocol !== 'https:' && !(config.allowLoopbackHttp && isLoopbackHttp(parsed))) {
    return { inject: false, reason: `${parsed.protocol} is not https` };
  }
  if (parsed.username || parsed.password) return { inject: false, reason: 'URL with credentials' };
  const provider = config.providers.find((p) => p.headerOrigins.has(parsed.origin));
  return provider ? { inject: true, provider } : { inject: false, reason: `${parsed.origin} is not allowlisted` };
}

/** Whether an embedded view may have a provider's access token; or the code and reason of the refusal. */
export type ViewAccessDecision =
  | { readonly allowed: true; readonly provider: BrokerProvider }
  | { readonly allowed: false; readonly code: typeof DesktopErrorCode.NOT_ALLOWED | typeof DesktopErrorCode.UNKNOWN_PROVIDER; readonly reason: string };

/** Whether a frame of `frameOrigin` (as the main process saw it, never as the page claims) may have `providerId`'s access token. */
export function decideViewAccess(config: BrokerConfig, frameOrigin: string | undefined, providerId: string): ViewAccessDecision {
  const provider = config.providers.find((p) => p.id === providerId);
  if (!provider) return { allowed: false, code: DesktopErrorCode.UNKNOWN_PROVIDER, reason: `no provider ${providerId} is configured` };
  if (frameOrigin === undefined || !provider.viewOrigins.has(frameOrigin)) {
    return { allowed: false, code: DesktopErrorCode.NOT_ALLOWED, reason: `${frameOrigin ?? 'this frame'} may not have ${providerId}'s access token` };
  }
  return { allowed: true, provider };
}

/** How the broker reaches a coordinator of the app's storage partition. Rejects with a coded error. */
export interface TokenSource {
  requestToken(sessionKey: string, query: TokenQuery): Promise<string>;
}

/**
 * Access tokens for the main process and embedded views, always asked of the app
 * windows' coordinators: it never holds a refresh token, and concurrent asks for the
 * same provider and query share one request.
 */
export interface TokenBroker {
  readonly config: BrokerConfig;
  /** For the main process's own use (git credential helper, extension host). Throws UNKNOWN_PROVIDER. */
  getAccessToken(providerId: string, query?: TokenQuery): Promise<string>;
  /** For an embedded view: checks the frame's origin against the provider's `viewOrigins` first. */
  viewAccessToken(frameOrigin: string | undefined, providerId: string): Promise<string>;
  /** A request with `accessToken` was answered 401: the next request asks for a newer one. */
  reportRefused(providerId: string, accessToken: string): void;
}

/**
 * The broker over `source`. A token reported refused (401) is not handed out
 * again: the ask that meets it forces the window's coordinator to refresh.
 * @see RFC 6750 §3.1 (`invalid_token`: the 401 that marks a token refused)
 */
export function createTokenBroker(config: BrokerConfig, source: TokenSource): TokenBroker {
  const inFlight = new Map<string, Promise<string>>();
  const refused = new Map<string, string>();

  function ask(provider: BrokerProvider, query: TokenQuery): Promise<string> {
    const key = JSON.stringify([provider.id, query.minValiditySeconds ?? null, query.forceRefresh === true]);
    let pending = inFlight.get(key);
    if (!pending) {
      pending = source.requestToken(provider.sessionKey, query).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  async function obtain(provider: BrokerProvider, query: TokenQuery): Promise<string> {
    const token = await ask(provider, query);
    const bad = refused.get(provider.id);
    if (bad === undefined || token !== bad) return token;
    // The window still holds the refused token: make it take a newer generation (refreshing at most once).
    const newer = await ask(provider, { ...query, forceRefresh: true });
    if (refused.get(provider.id) === bad) refused.delete(provider.id);
    return newer;
  }

  function providerById(providerId: string): BrokerProvider {
    const provider = config.providers.find((p) => p.id === providerId);
    if (!provider) throw new TokenHerdError(DesktopErrorCode.UNKNOWN_PROVIDER, `no provider ${providerId} is configured`);
    return provider;
  }

  return {
    config,
    async getAccessToken(providerId, query = {}) {
      return obtain(providerById(providerId), query);
    },
    async viewAccessToken(frameOrigin, providerId) {
      const decision = decideViewAccess(config, frameOrigin, providerId);
      if (!decision.allowed) throw new TokenHerdError(decision.code, decision.reason);
      return obtain(decision.provider, {});
    },
    reportRefused(providerId, accessToken) {
      refused.set(providerId, accessToken);
    },
  };
}

/** The part of Electron's `OnBeforeSendHeadersListenerDetails` the injector reads. */
export interface RequestDetailsLike {
  /** Electron's request id, the same across redirects; absent where the host cannot tell (Playwright routes). */
  readonly id?: number;
  readonly url: string;
  readonly requestHeaders: Readonly<Record<string, string>>;
}

/** Adds and strips the `Authorization` header of an embedded view's requests, and learns of refused tokens. */
export interface HeaderInjector {
  /** The headers to send: with `Authorization: Bearer` for an allowlisted origin, without it after a redirect away from one. */
  headersFor(details: RequestDetailsLike): Promise<Record<string, string>>;
  /** The request ended; a 401 to a request that carried an injected token marks that token refused. */
  completed(details: { readonly id: number; readonly statusCode?: number }): void;
}

const MAX_TRACKED_REQUESTS = 10_000;

/** The headers without any `Authorization` (of any case): a page's own credentials never reach an allowlisted API, nor the token a redirect target. */
export function withoutAuthorization(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
}

/**
 * Header injection for an embedded view's session (Electron:
 * `session.webRequest.onBeforeSendHeaders`; the Chromium test: `page.route`).
 * The token is added at the network layer: the page's scripts can use the
 * allowlisted API but never read the token from a request they made.
 * @see RFC 6750 §2.1 (the Authorization request header field)
 */
export function createHeaderInjector(
  broker: TokenBroker,
  options: { readonly onProblem?: (problem: string) => void } = {},
): HeaderInjector {
  const injected = new Map<number, { readonly providerId: string; readonly token: string }>();
  const remember = (id: number, entry: { readonly providerId: string; readonly token: string }): void => {
    injected.set(id, entry);
    // Electron reports every request's end; the bound only guards against a host that does not.
    if (injected.size > MAX_TRACKED_REQUESTS) injected.delete(injected.keys().next().value as number);
  };
  return {
    async headersFor(details) {
      const decision = decideAuthorization(broker.config, details.url);
      if (!decision.inject) {
        // Same request id, new URL: a redirect away from the allowlisted origin. The token stays behind.
        if (details.id !== undefined && injected.delete(details.id)) return withoutAuthorization(details.requestHeaders);
        return { ...details.requestHeaders };
      }
      const headers = withoutAuthorization(details.requestHeaders);
      try {
        const token = await broker.getAccessToken(decision.provider.id);
        if (details.id !== undefined) remember(details.id, { providerId: decision.provider.id, token });
        return { ...headers, Authorization: `Bearer ${token}` };
      } catch (error) {
        options.onProblem?.(`no token for ${details.url}: ${error instanceof Error ? error.message : String(error)}`);
        return headers; // sent without credentials: the view sees the API's 401, not a hung request
      }
    },
    completed({ id, statusCode }) {
      const entry = injected.get(id);
      if (!entry) return;
      injected.delete(id);
      if (statusCode === 401) broker.reportRefused(entry.providerId, entry.token);
    },
  };
}

export { originOf };
