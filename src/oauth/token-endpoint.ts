import * as oauth from 'oauth4webapi';
import { onAbort, type AbortSignalLike } from '../shared/abort.js';
import { ErrorCode, type RequestContext } from '../shared/errors.js';
import type { RefreshOutcome, TokenEndpoint } from '../shared/ports.js';
import { noMetadata, readDiscoveryAnswer, wellKnownUrl, type DiscoveryAnswer } from './discovery.js';
import { readFailure, requestError } from './request-failure.js';

/**
 * The OAuth client, as the token endpoint authenticates it.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 (client password: `client_secret_basic`, `client_secret_post`)
 * @see https://www.rfc-editor.org/rfc/rfc7591#section-2 (the `token_endpoint_auth_method` values)
 */
export interface OAuthClientOptions {
  readonly client_id: string;
  /** Required by `client_secret_basic` and `client_secret_post`. */
  readonly client_secret?: string;
  /** Default `none` (a public client, as browser and desktop apps are). */
  readonly token_endpoint_auth_method?: 'none' | 'client_secret_basic' | 'client_secret_post';
}

/**
 * Options of `createTokenEndpoint`: the server (its issuer, and its token endpoint unless found
 * by discovery), the client, and optional DPoP proofs.
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3 (authorization server metadata)
 * @see https://www.rfc-editor.org/rfc/rfc9449 (DPoP)
 */
export interface TokenEndpointOptions {
  /** The authorization server's issuer identifier. */
  readonly issuer: string;
  /** When absent, found by discovery (OpenID Connect Discovery, then RFC 8414) on first use. */
  readonly tokenEndpoint?: string;
  readonly client: OAuthClientOptions;
  /** Allows `http://` URLs. Development only. */
  readonly allowInsecureRequests?: boolean;
  readonly fetch?: typeof fetch;
  /**
   * Sender-constrains the tokens (RFC 9449): every refresh carries a fresh proof of the
   * session's key (new `jti`, `iat`, `htm`, `htu`), with the latest nonce any window learned.
   * A `use_dpop_nonce` answer is retried once with the nonce it carried. With no key stored,
   * nothing is sent and the refresh token counts as rejected: it is bound to a key that is gone.
   */
  readonly dpop?: DpopProofSource;
  /**
   * Requests in a row without a readable answer (no server reached, or an answer CORS refused)
   * after which the failure is MISCONFIGURED rather than TRANSIENT. Default 3: the core's `retry.attempts`.
   */
  readonly misconfiguredAfter?: number;
}

/**
 * oauth4webapi request options that add a DPoP proof to a request and observe its answer's nonce.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4 (DPoP proofs)
 */
export interface DpopRequestOptions {
  readonly DPoP: oauth.DPoPHandle;
  readonly [oauth.customFetch]: (url: string, init: oauth.CustomFetchOptions<string, unknown>) => Promise<Response>;
}

/**
 * Where a token request gets its DPoP proofs: the browser's `createDpop` is one. Every proof of a
 * session is made with the session's one stored key, so its refresh token stays usable in every window.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5 (DPoP access token request)
 */
export interface DpopProofSource {
  /**
   * Sends a token request to `origin` with a proof of the session's stored key: `send` makes
   * the request with the options it is given (sent through `fetchImpl`). While no window knows
   * a nonce of that server such requests take turns; a `use_dpop_nonce` answer is sent once
   * more, with the nonce. Without a stored key nothing is sent: it resolves with the refusal that
   * stands for the answer (the refresh token is bound to a key that is gone).
   */
  tokenRequest(
    origin: string,
    send: (proofs: DpopRequestOptions) => Promise<Response>,
    fetchImpl?: typeof fetch,
  ): Promise<Response | { readonly error: string; readonly description: string }>;
}

/** Error codes that mean "this refresh token is dead" (RFC 6749 section 5.2; GitHub's own name). */
const REJECTED = new Set(['invalid_grant', 'bad_refresh_token']);
/** Error codes that mean "try again later" (RFC 6749 section 4.1.2.1). */
const TRANSIENT = new Set(['temporarily_unavailable', 'server_error', 'slow_down']);

/**
 * The refresh_token grant (RFC 6749 section 6) through oauth4webapi, which builds the
 * request and authenticates the client. The response is classified here and validated
 * by the core: an ID token in the response is neither needed nor checked, because a
 * failed follow-up check must never throw away tokens the provider has already rotated.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3 (discovery, when no token endpoint is given)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5 (with DPoP)
 */
export function createTokenEndpoint(options: TokenEndpointOptions): TokenEndpoint {
  const issuer = new URL(options.issuer);
  const { client_id, client_secret, token_endpoint_auth_method = 'none' } = options.client;
  const client: oauth.Client = { client_id };
  const insecure = options.allowInsecureRequests === true;
  const customFetch = options.fetch;
  const fetchImpl = customFetch ?? globalThis.fetch.bind(globalThis);
  const limit = options.misconfiguredAfter ?? 3;
  const clientAuth =
    token_endpoint_auth_method === 'none'
      ? oauth.None()
      : token_endpoint_auth_method === 'client_secret_post'
        ? oauth.ClientSecretPost(client_secret ?? '')
        : oauth.ClientSecretBasic(client_secret ?? '');
  const { dpop } = options;
  const requestOptions = (signal: AbortSignalLike) => ({
    signal: signal as AbortSignal,
    // GitHub answers form-encoded unless asked for JSON.
    headers: { accept: 'application/json' },
    [oauth.allowInsecureRequests]: insecure,
    ...(customFetch && { [oauth.customFetch]: (url: string, init: object) => customFetch(url, init as RequestInit) }),
  });

  let server: oauth.AuthorizationServer | undefined =
    options.tokenEndpoint === undefined ? undefined : { issuer: issuer.href, token_endpoint: options.tokenEndpoint };
  /** Requests in a row (discovery or token) that got no answer this adapter could read. */
  let unanswered = 0;
  /** The request in flight, which a timeout names. */
  let current: RequestContext | undefined;

  /**
   * A request that got no readable answer: sent again by the core when nothing that could rotate
   * a token was processed (no server reached, or a discovery request); MISCONFIGURED when no wait
   * helps, or once `limit` requests in a row reached no server or (in a browser) got no answer it may
   * read. Otherwise (the token request may have been processed) it rejects TRANSIENT, and the core
   * keeps its marker of the send.
   */
  async function unanswerable(failure: unknown, where: RequestContext, signal: AbortSignalLike): Promise<RefreshOutcome> {
    if (signal.aborted) throw failure; // the core's timeout or close: the core says so
    const reading = await readFailure(failure, where.url, fetchImpl, signal as AbortSignal);
    if (reading.kind === 'misconfigured') throw requestError(ErrorCode.MISCONFIGURED, where, reading.detail, { cause: failure });
    // A connection that broke says nothing about the configuration. An unread answer may follow a processed
    // request: MISCONFIGURED only after at least two, whose markers the core keeps.
    if (reading.kind !== 'lost' && ++unanswered >= (reading.kind === 'unread' ? Math.max(2, limit) : limit)) {
      throw requestError(ErrorCode.MISCONFIGURED, where, `${unanswered} requests in a row got no answer, the last: ${reading.detail}`, { cause: failure });
    }
    if (reading.kind === 'unreachable' || where.phase === 'discovery') return { ...where, kind: 'transient', reason: reading.detail, answered: true };
    throw requestError(ErrorCode.TRANSIENT, where, reading.detail, { cause: failure });
  }

  /** The server's metadata (found once, then kept), or what the core should make of its absence. */
  async function discover(signal: AbortSignalLike): Promise<{ readonly as: oauth.AuthorizationServer } | { readonly failed: RefreshOutcome }> {
    if (server) return { as: server };
    const wrong: Array<Extract<DiscoveryAnswer, { kind: 'wrong' }>> = [];
    for (const algorithm of ['oidc', 'oauth2'] as const) {
      const url = wellKnownUrl(issuer, algorithm);
      current = { url, phase: 'discovery' };
      let response: Response;
      try {
        response = await oauth.discoveryRequest(issuer, { ...requestOptions(signal), algorithm });
      } catch (failure) {
        return { failed: await unanswerable(failure, { url, phase: 'discovery' }, signal) };
      }
      unanswered = 0;
      const answer = await readDiscoveryAnswer(issuer, url, response);
      if (answer.kind === 'found') return { as: (server = answer.server) };
      if (answer.kind === 'busy') return { failed: { ...answer.where, kind: 'transient', reason: `HTTP ${answer.status}`, answered: true } };
      wrong.push(answer);
    }
    throw noMetadata(issuer, wrong);
  }

  /** One refresh_token grant, discovering the token endpoint first if needed, its answer classified. */
  async function refresh(refreshToken: string, signal: AbortSignalLike): Promise<RefreshOutcome> {
    const discovered = await discover(signal);
    if ('failed' in discovered) return discovered.failed;
    const { as } = discovered;
    const where: RequestContext = { url: as.token_endpoint ?? issuer.href, phase: 'token-request' };
    current = where;
    const send = (proofs?: DpopRequestOptions) => oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshToken, { ...requestOptions(signal), ...proofs });
    let response: Response;
    try {
      // The DPoP code is the proof source's: a coordinator without `dpop` bundles none of it.
      const answer = dpop ? await dpop.tokenRequest(new URL(where.url).origin, send, customFetch) : await send();
      if (!('status' in answer)) return { ...where, kind: 'rejected', ...answer }; // no key: nothing was sent
      response = answer;
    } catch (failure) {
      return unanswerable(failure, where, signal);
    }
    unanswered = 0;
    if (response.status === 429 || response.status >= 500) {
      await response.body?.cancel();
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now());
      return { ...where, kind: 'transient', reason: `HTTP ${response.status}`, answered: true, ...(retryAfterMs !== undefined && { retryAfterMs }) };
    }
    const body: unknown = await response.json().catch(() => undefined);
    const error = oauthError(body);
    if (error) return { ...where, ...classify(error.error, error.description, response.status) };
    if (response.ok) {
      return typeof body === 'object' && body !== null
        ? { kind: 'tokens', response: body }
        : { ...where, kind: 'invalid-response', reason: `HTTP ${response.status} with a body that is not a JSON object` };
    }
    if (response.status === 404 || response.status === 405) {
      // Nothing was processed: the URL is not a token endpoint.
      throw requestError(ErrorCode.MISCONFIGURED, where, `HTTP ${response.status}: no token endpoint at this URL. Check tokenEndpoint (or the issuer it is discovered from)`, {
        status: response.status,
      });
    }
    const challenge = response.headers.get('www-authenticate');
    return { ...where, kind: 'provider-error', error: `HTTP ${response.status}`, ...(challenge && { description: challenge }), status: response.status };
  }

  return {
    refresh(refreshToken, { signal }) {
      current = undefined;
      // On the core's timeout this rejects first, naming the request that got no answer: the abort
      // listener registered here runs before the core's own, and the core reads `url` and `phase`.
      return new Promise<RefreshOutcome>((resolve, reject) => {
        const stop = onAbort(signal, (reason) => reject(current ? requestError(ErrorCode.TRANSIENT, current, 'no answer in time', { cause: reason }) : reason));
        refresh(refreshToken, signal).then(resolve, reject).finally(stop);
      });
    },
  };
}

/** An OAuth error body, in any status: GitHub sends its errors with HTTP 200. */
function oauthError(body: unknown): { error: string; description?: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { error, error_description } = body as Record<string, unknown>;
  if (typeof error !== 'string') return undefined;
  return typeof error_description === 'string' ? { error, description: error_description } : { error };
}

function classify(error: string, description: string | undefined, status: number): RefreshOutcome {
  const detail = { ...(description !== undefined && { description }), status };
  if (REJECTED.has(error)) return { kind: 'rejected', error, ...detail };
  if (TRANSIENT.has(error)) return { kind: 'transient', reason: error, answered: true };
  return { kind: 'provider-error', error, ...detail };
}

/**
 * `Retry-After` as delay-seconds or an HTTP date, in milliseconds from `now`.
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
