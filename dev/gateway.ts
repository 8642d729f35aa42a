/**
 * A fault-injecting gateway in front of the embedded OAuth server, for dev and tests.
 *
 * The upstream (the real oidc-provider) keeps all token state; the gateway only delays,
 * drops or rewrites what crosses the wire, and can make the upstream look like another
 * provider. Scripted faults hit token-endpoint requests with grant_type=refresh_token,
 * one fault per request, in order; every other request is relayed unchanged.
 */
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeServer, listenOnLoopback } from './loopback.js';
import type { OAuthServer, OAuthServerOptions } from './oauth-server.js';

/**
 * How the provider behind the gateway behaves, on top of the upstream's real token state.
 * - `'oidc'`: the upstream as it is (standard errors; reuse revokes the grant by default).
 * - `'github'`: errors in HTTP 200 bodies, `bad_refresh_token`, form-encoded answers unless
 *   `Accept` includes `application/json`, optional client secret, the previous access token
 *   revoked at rotation, no ID token.
 * - `{ graceSeconds }`: reusing a refresh token within `graceSeconds` of its first use yields fresh
 *   tokens again (Auth0 overlap, Okta grace, Atlassian leeway); later reuse
 *   reaches the upstream, whose reuse detection revokes the grant.
 * - `'non-rotating'`: refresh tokens stay valid and refresh answers carry none (Google).
 *
 * Each needs the upstream started with {@link upstreamOptionsFor}.
 */
export type Emulation = 'oidc' | 'github' | 'non-rotating' | { readonly graceSeconds: number };

/** A response the gateway sends instead of the provider's. `body`: text, or an object sent as JSON. */
export interface ReplacedResponse {
  readonly status: number;
  readonly body?: string | Readonly<Record<string, unknown>>;
}

/**
 * What happens to one refresh request.
 * - `{ delayMs }`: held on the way in, then processed; dropped unprocessed if its client left meanwhile.
 * - `{ until }`: the same, held until the promise settles (a test's own moment, not a guessed delay).
 * - `'hang'`: never answered, never processed; the connection stays open until the client or `close()` ends it.
 * - `'reset'`: the connection is reset (TCP RST) without an answer; the provider never sees the request.
 * - `{ status, retryAfter? }`: the gateway answers the error itself; the provider never sees the request.
 * - `{ forward: true, then }`: the provider processes the request (the refresh token really rotates),
 *   then its answer is lost (`'reset'`, `'hang'`) or replaced.
 */
export type Fault =
  | { readonly delayMs: number }
  | { readonly until: Promise<unknown> }
  | 'hang'
  | 'reset'
  | { readonly status: 429 | 500 | 502 | 503 | 504; readonly retryAfter?: string }
  | { readonly forward: true; readonly then: 'reset' | 'hang' | ReplacedResponse };

export interface GatewayOptions {
  readonly upstream: OAuthServer;
  /** Default `'oidc'`. */
  readonly emulate?: Emulation;
  /** Browser origins allowed to read what the gateway answers itself (token endpoint, discovery). */
  readonly corsOrigins?: readonly string[];
  /** `'github'` only: the client must send this secret (form body or Basic auth). */
  readonly clientSecret?: string;
  /** The clock of the grace window, in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Default 0: a random free port. */
  readonly port?: number;
}

export interface GatewayStats {
  /** Every HTTP request the gateway received. */
  requests: number;
  /** Token endpoint requests with grant_type=refresh_token. */
  refreshRequests: number;
  /** Refresh requests sent on to the upstream. */
  forwarded: number;
  /** Forwarded refreshes the upstream answered with a new refresh token: the one sent is used up. */
  consumed: number;
  /** Forwarded refreshes the upstream answered `invalid_grant` (before any rewriting). */
  invalidGrant: number;
  /** Delayed refresh requests dropped unprocessed because their client left meanwhile. */
  abandoned: number;
  /** Reuses inside the grace window, answered by refreshing the newest successor of the reused token. */
  replayed: number;
  /** The upstream's own count of revoked grants. */
  grantsRevoked: number;
}

export interface Gateway {
  /**
   * `http://127.0.0.1:PORT`: serves the upstream's discovery document with the upstream's URLs,
   * `issuer` included, rewritten to the gateway. Tokens keep the upstream's identity: an ID token's
   * `iss` (and the authorization response's `iss`) is `upstream.issuer`, so a client that validates
   * those must expect that issuer, e.g. `{ ...discovered, issuer: upstream.issuer }`.
   */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** Appends faults; each following refresh request takes the first one left. */
  script(...faults: Fault[]): void;
  stats(): GatewayStats;
  /**
   * The upstream's `mintSession`, answered as the emulated provider would, and known to the gateway
   * (the `'github'` emulation can revoke this access token at the first rotation only if it knows it).
   */
  mintSession(accountId?: string): Promise<Record<string, unknown>>;
  /** Stops listening, ends every connection (hung ones too) and cancels delayed and forwarded requests. */
  close(): Promise<void>;
}

/** GitHub App user tokens: access 8 h, refresh 6 months. */
const GITHUB_ACCESS_TOKEN_TTL_SECONDS = 8 * 60 * 60;
const GITHUB_REFRESH_TOKEN_TTL_SECONDS = 15_897_600;

/** The upstream settings an emulation relies on; spread them into `startOAuthServer`'s options. */
export function upstreamOptionsFor(emulate: Emulation = 'oidc'): OAuthServerOptions {
  switch (emulate) {
    case 'github':
      return {
        reuse: 'reject',
        accessTokenTtlSeconds: GITHUB_ACCESS_TOKEN_TTL_SECONDS,
        refreshTokenTtlSeconds: GITHUB_REFRESH_TOKEN_TTL_SECONDS,
      };
    case 'non-rotating':
      return { rotateRefreshTokens: false };
    default:
      return { reuse: 'revoke' };
  }
}

/** A token-endpoint answer before it is written. */
interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

type Json = Record<string, unknown>;

/** Not relayed in either direction: they describe one hop, or are recomputed. */
const HOP_HEADERS = new Set([
  'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer',
  'host', 'content-length', 'content-encoding',
]);
const CORS_RESPONSE_HEADER = /^access-control-|^vary$/;
const DISCOVERY_PATHS = new Set(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { upstream, emulate = 'oidc', corsOrigins = [], clientSecret, now = Date.now, port = 0 } = options;
  if (clientSecret !== undefined && emulate !== 'github') throw new Error("clientSecret needs emulate: 'github'");
  const graceMs = typeof emulate === 'object' ? emulate.graceSeconds * 1000 : undefined;
  const allowedOrigins = new Set(corsOrigins);
  const tokenPath = new URL(upstream.tokenEndpoint).pathname;
  // Aborted by close(): ends delays and upstream calls of requests still in progress.
  const closing = new AbortController();

  const server = createServer();
  const issuer = await listenOnLoopback(server, port);

  const faults: Fault[] = [];
  const counts = { requests: 0, refreshRequests: 0, forwarded: 0, consumed: 0, invalidGrant: 0, abandoned: 0, replayed: 0 };
  // 'github': the access token issued with each refresh token, to revoke when that refresh token rotates.
  const accessTokenOf = new Map<string, string>();
  // Grace window: per used refresh token, when it was first used and the refresh token that use returned.
  const firstUse = new Map<string, { at: number; successor: string }>();

  function cors(origin: string | undefined): Record<string, string> {
    return origin !== undefined && allowedOrigins.has(origin)
      ? { vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-expose-headers': 'Retry-After' }
      : { vary: 'Origin' };
  }

  function send(res: ServerResponse, req: IncomingMessage, answer: Answer): void {
    res.writeHead(answer.status, { ...answer.headers, ...cors(req.headers.origin) }).end(answer.body);
  }

  function postUpstream(url: string, headers: Record<string, string>, form: URLSearchParams): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
      signal: closing.signal,
    });
  }

  /** The emulated provider's answer to a refresh request that got through the faults. */
  async function refresh(req: IncomingMessage, form: URLSearchParams): Promise<Answer> {
    const accept = req.headers.accept ?? '';
    const headers = forwardedHeaders(req.headers);
    if (emulate === 'github') {
      if (clientSecret !== undefined && !presentsSecret(req.headers.authorization, form, clientSecret)) {
        return githubAnswer(accept, {
          error: 'incorrect_client_credentials',
          error_description: 'The client_id and/or client_secret passed are incorrect.',
        });
      }
      // The upstream client is public: strip whatever authenticated the client here.
      const clientId = basicCredentials(req.headers.authorization)?.[0];
      if (clientId !== undefined) form.set('client_id', clientId);
      form.delete('client_secret');
      delete headers['authorization'];
    }
    let refreshToken = form.get('refresh_token') ?? '';
    const usedAt = now();
    const used = firstUse.get(refreshToken);
    if (graceMs !== undefined && used && usedAt < used.at + graceMs) {
      // Within the window a reused token yields fresh tokens, as Auth0 and Okta answer it: emulated by
      // refreshing, at the upstream, the newest successor of the reused token, which nobody has used yet.
      counts.replayed += 1;
      refreshToken = used.successor;
      for (let next = firstUse.get(refreshToken); next; next = firstUse.get(refreshToken)) refreshToken = next.successor;
      form.set('refresh_token', refreshToken);
    }

    counts.forwarded += 1;
    const response = await postUpstream(upstream.tokenEndpoint, headers, form);
    const body = (await response.json()) as Json;
    if (response.status !== 200) {
      if (body['error'] === 'invalid_grant') counts.invalidGrant += 1;
      return emulate === 'github'
        ? githubAnswer(accept, {
            error: body['error'] === 'invalid_grant' ? 'bad_refresh_token' : body['error'],
            error_description:
              body['error'] === 'invalid_grant' ? 'The refresh token passed is incorrect or expired.' : body['error_description'],
          })
        : upstreamAnswer(response, body);
    }

    const rotated = typeof body['refresh_token'] === 'string' && body['refresh_token'] !== refreshToken;
    if (rotated) counts.consumed += 1;
    if (emulate === 'github') {
      const previous = accessTokenOf.get(refreshToken);
      accessTokenOf.delete(refreshToken);
      if (previous !== undefined) await upstream.revokeAccessToken(previous);
      remember(body);
      return githubAnswer(accept, githubTokens(body));
    }
    if (emulate === 'non-rotating' && !rotated) delete body['refresh_token'];
    const answer = upstreamAnswer(response, body);
    if (graceMs !== undefined && rotated) firstUse.set(refreshToken, { at: usedAt, successor: body['refresh_token'] as string });
    return answer;
  }

  function remember(tokens: Json): void {
    const { access_token: accessToken, refresh_token: refreshToken } = tokens;
    if (typeof accessToken === 'string' && typeof refreshToken === 'string') accessTokenOf.set(refreshToken, accessToken);
  }

  function githubTokens(tokens: Json): Json {
    return {
      access_token: tokens['access_token'],
      expires_in: tokens['expires_in'],
      refresh_token: tokens['refresh_token'],
      refresh_token_expires_in: upstream.refreshTokenTtlSeconds,
      scope: tokens['scope'],
      token_type: 'bearer',
    };
  }

  /** `until` settled, or a rejection once the gateway closes. */
  function untilClosed(until: Promise<unknown>): Promise<unknown> {
    const closed = new Promise((_, reject) => closing.signal.addEventListener('abort', () => reject(closing.signal.reason), { once: true }));
    return Promise.race([until.catch(() => {}), closed]);
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'POST' && req.method !== 'OPTIONS') return relay(req, res, url);
    if (req.method === 'OPTIONS') {
      const requested = req.headers['access-control-request-headers'];
      res.writeHead(204, {
        ...cors(req.headers.origin),
        'access-control-allow-methods': 'POST',
        ...(requested !== undefined && { 'access-control-allow-headers': requested }),
        'access-control-max-age': '600',
      }).end();
      return;
    }
    const form = new URLSearchParams((await buffer(req)).toString());
    if (form.get('grant_type') !== 'refresh_token') {
      const response = await postUpstream(upstream.tokenEndpoint, forwardedHeaders(req.headers), form);
      const body = (await response.json()) as Json;
      if (emulate === 'github' && response.ok) remember(body);
      send(res, req, upstreamAnswer(response, body));
      return;
    }

    counts.refreshRequests += 1;
    const fault = faults.shift();
    if (fault === 'hang') return;
    if (fault === 'reset') {
      res.socket?.resetAndDestroy();
      return;
    }
    if (fault !== undefined && 'status' in fault) {
      send(res, req, plainAnswer(fault.status, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter }));
      return;
    }
    if (fault !== undefined && ('delayMs' in fault || 'until' in fault)) {
      await ('until' in fault ? untilClosed(fault.until) : sleep(fault.delayMs, undefined, { signal: closing.signal }));
      if (req.socket.destroyed) {
        counts.abandoned += 1;
        return;
      }
    }
    const answer = await refresh(req, form);
    if (fault === undefined || !('forward' in fault)) send(res, req, answer);
    else if (fault.then === 'reset') res.socket?.resetAndDestroy();
    else if (fault.then !== 'hang') send(res, req, replacedAnswer(fault.then));
  }

  async function serveDiscovery(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const response = await fetch(`${upstream.issuer}${path}`, { signal: closing.signal });
    if (!response.ok) {
      await relayResponse(res, response);
      return;
    }
    const rewritten = JSON.stringify(await response.json(), (_key, value: unknown) =>
      typeof value === 'string' && (value === upstream.issuer || value.startsWith(`${upstream.issuer}/`))
        ? issuer + value.slice(upstream.issuer.length)
        : value,
    );
    send(res, req, { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: rewritten });
  }

  /** Any other request, both ways unchanged (the upstream's own CORS policy applies). */
  async function relay(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const response = await fetch(`${upstream.issuer}${url.pathname}${url.search}`, {
      method: req.method ?? 'GET',
      headers: forwardedHeaders(req.headers, true),
      ...(hasBody && { body: await buffer(req) }),
      redirect: 'manual',
      signal: closing.signal,
    });
    await relayResponse(res, response);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    counts.requests += 1;
    const url = new URL(req.url ?? '/', issuer);
    const handled =
      url.pathname === tokenPath
        ? handleToken(req, res, url)
        : DISCOVERY_PATHS.has(url.pathname) && req.method === 'GET'
          ? serveDiscovery(req, res, url.pathname)
          : relay(req, res, url);
    handled.catch((error: unknown) => {
      // After close() or a vanished client there is nobody to tell.
      if (closing.signal.aborted || res.headersSent || req.socket.destroyed) return;
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', ...cors(req.headers.origin) }).end(`gateway: ${String(error)}`);
    });
  });

  return {
    issuer,
    tokenEndpoint: issuer + tokenPath,
    script(...added) {
      faults.push(...added);
    },
    stats: () => ({ ...counts, grantsRevoked: upstream.stats().grantsRevoked }),
    async mintSession(accountId) {
      const tokens = await upstream.mintSession(accountId);
      if (emulate !== 'github') return tokens;
      remember(tokens);
      return githubTokens(tokens);
    },
    close() {
      closing.abort();
      return closeServer(server);
    },
  };
}

/**
 * Request headers for the upstream. The token endpoint drops `Origin`: there the gateway's CORS
 * policy is the one that counts, and oidc-provider refuses token requests from origins it does not know.
 */
function forwardedHeaders(headers: IncomingHttpHeaders, keepOrigin = false): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_HEADERS.has(name) || (name === 'origin' && !keepOrigin)) continue;
    kept[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

/** The upstream's answer as it is, minus its CORS headers (the gateway sets its own). */
function upstreamAnswer(response: Response, body: Json): Answer {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!HOP_HEADERS.has(name) && !CORS_RESPONSE_HEADER.test(name)) headers[name] = value;
  });
  return { status: response.status, headers: { ...headers, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

async function relayResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    if (!HOP_HEADERS.has(name) && name !== 'set-cookie') headers.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) headers.push(['set-cookie', cookie]);
  const body = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, headers.flat()).end(body);
}

function plainAnswer(status: number, headers: Record<string, string>): Answer {
  return {
    status,
    headers: { ...headers, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: STATUS_CODES[status] ?? '',
  };
}

function replacedAnswer({ status, body }: ReplacedResponse): Answer {
  if (typeof body !== 'object') return { ...plainAnswer(status, {}), ...(body !== undefined && { body }) };
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: JSON.stringify(body) };
}

/** GitHub answers everything, errors included, with HTTP 200; form-encoded unless JSON is accepted. */
function githubAnswer(accept: string, fields: Json): Answer {
  const defined = Object.entries(fields).filter((entry): entry is [string, string | number] =>
    typeof entry[1] === 'string' || typeof entry[1] === 'number',
  );
  const json = accept.includes('application/json');
  return {
    status: 200,
    headers: {
      'content-type': json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded; charset=utf-8',
      'cache-control': 'no-store',
    },
    body: json
      ? JSON.stringify(Object.fromEntries(defined))
      : new URLSearchParams(defined.map(([name, value]) => [name, String(value)])).toString(),
  };
}

/** `client_id` and `client_secret` from HTTP Basic auth, form-decoded (RFC 6749 section 2.3.1). */
function basicCredentials(authorization: string | undefined): [string, string] | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const formDecode = (part: string) => decodeURIComponent(part.replace(/\+/g, ' '));
  return [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
}

function presentsSecret(authorization: string | undefined, form: URLSearchParams, secret: string): boolean {
  return (basicCredentials(authorization)?.[1] ?? form.get('client_secret')) === secret;
}
