import { createHash, generateKeyPair, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { promisify } from 'node:util';
import * as oauth from 'oauth4webapi';
import Provider, { type KoaContext } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import { openFileAdapterStore } from './file-adapter.js';
import { closeServer, listenOnLoopback } from './loopback.js';
import { tokenRequestLog, type TokenRequestEntry } from './token-request-log.js';

export interface OAuthServerOptions {
  /** Default 0: a random free port. */
  port?: number;
  /** Default 3600. */
  accessTokenTtlSeconds?: number;
  /** Default 14 days. */
  refreshTokenTtlSeconds?: number;
  /** Browser origins allowed to call the token and userinfo endpoints, besides the origins of `redirectUris`. */
  corsOrigins?: readonly string[];
  /**
   * Redirect URIs of the public PKCE client. Default `['http://127.0.0.1:5173/']`. A loopback one without
   * a port (`http://127.0.0.1/callback`) makes it a native client, which may redirect there at any port
   * (RFC 8252 §7.3): the desktop app's system-browser sign-in listens on a random one.
   */
  redirectUris?: readonly string[];
  /**
   * What reuse of a consumed refresh token does. Both answer 400 `invalid_grant`.
   * - `'revoke'` (default): oidc-provider's own reuse detection also revokes the whole grant.
   * - `'reject'`: a layer in front of the token endpoint answers it and leaves the grant alone (GitHub).
   */
  reuse?: 'revoke' | 'reject';
  /** Default true: every refresh consumes the refresh token and issues a new one. False: it stays valid (Google, Entra). */
  rotateRefreshTokens?: boolean;
  /**
   * DPoP (RFC 9449) at the token and userinfo endpoints.
   * - `'allowed'` (default, oidc-provider's own default): a request with a proof gets tokens bound to its key
   *   (a public client's refresh token too); a request without one gets bearer tokens.
   * - `'required'`: the client is registered with `dpop_bound_access_tokens`, so a token request without a proof fails.
   * - `'off'`: `features.dPoP` disabled; a proof is ignored.
   */
  dpop?: 'off' | 'allowed' | 'required';
  /** Default false: whether every DPoP proof must carry a server nonce; `requireDpopNonce` switches it later. */
  dpopNonceRequired?: boolean;
  /** Keeps grants, tokens and logins in this file, so they survive a restart on the same port. Default: memory only. */
  grantsFile?: string;
  /** Called after every token request: its grant, outcome and refresh-token generation. */
  onTokenRequest?: (entry: TokenRequestEntry) => void;
}

export interface DpopStats {
  /** JWK thumbprints (RFC 7638) of the keys of DPoP proofs the token and userinfo endpoints accepted. */
  jkts: string[];
  /** Token and userinfo requests answered `use_dpop_nonce`. */
  nonceChallenges: number;
  /** Userinfo requests, and those answered 200. */
  userinfoRequests: number;
  userinfoOk: number;
  /** Token or userinfo requests refused because their proof's `jti` was seen before (a replayed proof). */
  replaysRefused: number;
}

export interface RefreshRequestInfo {
  refreshToken: string;
  /** Whether the server had already rotated this refresh token when the request arrived. */
  consumed: boolean;
  /** Resolves when the client's connection closes (a closed page, an aborted fetch). */
  clientGone: Promise<void>;
}

export interface OAuthServerStats {
  /** Token endpoint requests with grant_type=refresh_token, whatever their outcome. */
  refreshRequests: number;
  refreshSucceeded: number;
  /** Refresh requests answered `invalid_grant`, by the provider or by the `'reject'` layer. */
  invalidGrant: number;
  /** `grant.revoked` events. */
  grantsRevoked: number;
  /** Highest number of refresh requests in flight at the server at once. */
  maxConcurrentRefreshes: number;
  /** Refresh requests dropped unprocessed because their client disconnected while a hook held them. */
  refreshAbandoned: number;
}

export type RefreshRequestHook = (info: RefreshRequestInfo) => Promise<void> | void;

export interface OAuthServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash, exactly as in the discovery document. */
  readonly issuer: string;
  /** Public client: no client authentication, PKCE required, scope `openid offline_access`. */
  readonly clientId: string;
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
  /** Lifetime of each refresh token from its issue (a rotated one starts afresh). */
  readonly refreshTokenTtlSeconds: number;
  /**
   * A signed-in session without the login UI: saves a grant and a refresh token for the
   * account, refreshes it once from Node and returns that token response. Not counted in stats.
   * With `dpop`, the refresh token is bound to that key (as a DPoP sign-in binds it) and the
   * refresh carries a proof made with it.
   */
  mintSession(accountId?: string, options?: { dpop?: CryptoKeyPair }): Promise<Record<string, unknown>>;
  /**
   * Destroys this access token and nothing else: what a provider that kills the old access token
   * at rotation does (GitHub). oidc-provider's revocation endpoint would revoke the whole grant.
   */
  revokeAccessToken(accessToken: string): Promise<void>;
  /**
   * Whether this server issued the access token, has not revoked it, and its grant is alive:
   * the resource server accepts it until it expires. Expiry is left out on purpose, so the
   * answer does not depend on how fast a loaded machine gets to ask.
   */
  accessTokenValid(accessToken: string): Promise<boolean>;
  stats(): OAuthServerStats;
  /** Kept apart from `stats()` so that its shape stays as tests compare it. Reset by `resetStats`. */
  dpopStats(): DpopStats;
  resetStats(): void;
  /** Whether DPoP proofs must carry a server nonce from now on (a nonce is announced in `DPoP-Nonce` either way). */
  requireDpopNonce(required: boolean): void;
  /** Awaited before the server handles each refresh request; `undefined` removes it. */
  onRefreshRequest(hook: RefreshRequestHook | undefined): void;
  /** Refreshes from Node, outside any browser coordination; throws the oauth4webapi error. Counted in stats. */
  refreshOutside(refreshToken: string, options?: { dpop?: CryptoKeyPair }): Promise<Record<string, unknown>>;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

const CLIENT_ID = 'tokenherd-dev';
const SCOPE = 'openid offline_access';
const DAY_SECONDS = 24 * 60 * 60;

const emptyDpopStats = () => ({ jkts: new Set<string>(), nonceChallenges: 0, userinfoRequests: 0, userinfoOk: 0, replaysRefused: 0 });

const emptyStats = (): OAuthServerStats => ({
  refreshRequests: 0,
  refreshSucceeded: 0,
  invalidGrant: 0,
  grantsRevoked: 0,
  maxConcurrentRefreshes: 0,
  refreshAbandoned: 0,
});

export async function startOAuthServer(options: OAuthServerOptions = {}): Promise<OAuthServer> {
  const {
    port = 0,
    accessTokenTtlSeconds = 3600,
    refreshTokenTtlSeconds = 14 * DAY_SECONDS,
    corsOrigins = [],
    redirectUris = ['http://127.0.0.1:5173/'],
    reuse = 'revoke',
    rotateRefreshTokens = true,
    dpop = 'allowed',
  } = options;
  let dpopNonceRequired = options.dpopNonceRequired ?? false;
  const allowedOrigins = new Set([...corsOrigins, ...redirectUris.map((uri) => new URL(uri).origin)]);
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });

  // The issuer has to name the real port, so listen before the provider exists.
  const server = createServer();
  const issuer = await listenOnLoopback(server, port);

  // oidc-provider's own in-memory adapter, with room for long test runs (its default keeps ~1000 entries).
  // Access tokens stay stored a day past their expiry (its third argument; they still expire at their
  // `exp`), so accessTokenValid can tell an expired token from one never issued or revoked.
  const store = new LRU({ maxSize: 100_000 });
  const file = options.grantsFile === undefined ? undefined : openFileAdapterStore(options.grantsFile);
  const retain = (model: string) => (model === 'AccessToken' ? DAY_SECONDS : 0);
  const provider = withoutDevInteractionsWarning(() => new Provider(issuer, {
    adapter: (model) => (file ? file.adapter(model, retain(model)) : new MemoryAdapter(model, store, retain(model))),
    clients: [{
      client_id: CLIENT_ID,
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: [...redirectUris],
      application_type: redirectUris.some(isPortlessLoopback) ? 'native' : 'web',
      scope: SCOPE,
      ...(dpop === 'required' && { dpop_bound_access_tokens: true }),
    }],
    jwks: { keys: [privateKey.export({ format: 'jwk' })] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    clientBasedCORS: (_ctx, origin) => allowedOrigins.has(origin),
    pkce: { required: () => true },
    // A boolean, not oidc-provider's default function: that one never rotates the refresh token of a
    // public client once it is DPoP-bound (sender-constrained), which would remove the very race
    // tokenherd exists for. `true` rotates every refresh token on every use, bound or not.
    rotateRefreshToken: rotateRefreshTokens,
    issueRefreshToken: async () => true,
    ttl: {
      AccessToken: accessTokenTtlSeconds,
      RefreshToken: refreshTokenTtlSeconds,
      // The grant outlives any chain of rotated refresh tokens.
      Grant: 365 * DAY_SECONDS,
      Session: refreshTokenTtlSeconds,
      IdToken: 3600,
      Interaction: 3600,
    },
    // The default 15 s would keep expired access tokens working at userinfo.
    clockTolerance: 0,
    features: {
      devInteractions: { enabled: true },
      // The nonce secret is per server start; with it the provider announces a nonce in `DPoP-Nonce`.
      dPoP: { enabled: dpop !== 'off', nonceSecret: randomBytes(32), requireNonce: () => dpopNonceRequired },
    },
  }));

  const tokenEndpoint = provider.urlFor('token');
  const userinfoEndpoint = provider.urlFor('userinfo');
  const as: oauth.AuthorizationServer = { issuer, token_endpoint: tokenEndpoint, userinfo_endpoint: userinfoEndpoint };
  const client: oauth.Client = { client_id: CLIENT_ID };
  const tokenPath = new URL(tokenEndpoint).pathname;

  let stats = emptyStats();
  let dpopStats = emptyDpopStats();
  const userinfoPath = new URL(userinfoEndpoint).pathname;
  let inFlight = 0;
  let hook: RefreshRequestHook | undefined;
  // Refresh tokens minted by mintSession whose one refresh bypasses stats and hook.
  const uncounted = new Set<string>();

  const isConsumed = async (refreshToken: string) =>
    (await provider.RefreshToken.find(refreshToken, { ignoreExpiration: true }))?.consumed !== undefined;

  function rejectReuse(ctx: KoaContext): void {
    // The headers the provider sends with its own errors, so a browser can read this one too.
    ctx.vary('Origin');
    const origin = ctx.get('Origin');
    if (allowedOrigins.has(origin)) ctx.set('Access-Control-Allow-Origin', origin);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 400;
    ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
  }

  // Outermost: sees the final answer of every token and userinfo request, including the ones below.
  provider.use(async (ctx, next) => {
    const counted = ctx.path === tokenPath || ctx.path === userinfoPath;
    if (counted && ctx.path === userinfoPath && ctx.method !== 'OPTIONS') dpopStats.userinfoRequests += 1;
    await next();
    if (!counted) return;
    if (isNonceChallenge(ctx)) dpopStats.nonceChallenges += 1;
    if (ctx.status !== 200) return;
    if (ctx.path === userinfoPath) dpopStats.userinfoOk += 1;
    // A proof counts where it took effect: a DPoP token was issued, or the resource took a DPoP token.
    const bound = ctx.path === tokenPath ? hasTokenType(ctx.body, 'DPoP') : /^DPoP /i.test(ctx.get('Authorization'));
    const jkt = bound ? proofThumbprint(ctx.get('DPoP')) : undefined;
    if (jkt !== undefined) dpopStats.jkts.add(jkt);
  });

  if (options.onTokenRequest) provider.use(tokenRequestLog(provider, tokenPath, options.onTokenRequest));
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath || !ctx.is('application/x-www-form-urlencoded')) {
      return next();
    }
    const { socket } = ctx.req as IncomingMessage;
    const body = await buffer(ctx.req);
    // The provider parses the form itself from an unread ctx.req (headers and length still
    // come from ctx.request); an upstream-parsed body would work too, but logs a warning.
    ctx.req = Readable.from([body]);
    const form = new URLSearchParams(body.toString());
    const refreshToken = form.get('refresh_token') ?? '';
    if (form.get('grant_type') !== 'refresh_token' || uncounted.delete(refreshToken)) return next();

    stats.refreshRequests += 1;
    inFlight += 1;
    stats.maxConcurrentRefreshes = Math.max(stats.maxConcurrentRefreshes, inFlight);
    try {
      if (hook) {
        // Only while a hook may hold the request: a kept-alive socket would otherwise gather a listener per request.
        let stopWatching = (): void => {};
        const clientGone = new Promise<void>((resolve) => {
          if (socket.destroyed) return resolve();
          socket.once('close', resolve);
          stopWatching = () => socket.off('close', resolve);
        });
        try {
          await hook({ refreshToken, consumed: await isConsumed(refreshToken), clientGone });
        } finally {
          stopWatching();
        }
      }
      // A client that went away while its request was held never reached the provider.
      if (socket.destroyed) {
        stats.refreshAbandoned += 1;
        ctx.status = 503;
        return;
      }
      // Checked after the hook: a paused request may meet a token rotated meanwhile.
      if (reuse === 'reject' && (await isConsumed(refreshToken))) rejectReuse(ctx);
      else await next();
    } finally {
      inFlight -= 1;
    }
    if (ctx.status === 200) stats.refreshSucceeded += 1;
    else if (isInvalidGrant(ctx.body)) stats.invalidGrant += 1;
  });
  provider.on('grant.revoked', () => {
    stats.grantsRevoked += 1;
  });
  // The public error_description is generic; the reason is only in these events.
  for (const event of ['grant.error', 'userinfo.error'] as const) {
    provider.on(event, (_ctx, error) => {
      if (/replay/i.test(error.error_detail ?? '')) dpopStats.replaysRefused += 1;
    });
  }
  server.on('request', provider.callback());

  async function refresh(refreshToken: string, { dpop: keyPair }: { dpop?: CryptoKeyPair } = {}): Promise<Record<string, unknown>> {
    const DPoP = keyPair && oauth.DPoP(client, keyPair);
    const send = async () =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, { [oauth.allowInsecureRequests]: true, ...(DPoP && { DPoP }) }),
      );
    try {
      return await send();
    } catch (error) {
      if (!oauth.isDPoPNonceError(error)) throw error;
      return send(); // the handle has cached the nonce the answer carried
    }
  }

  return {
    issuer,
    clientId: CLIENT_ID,
    tokenEndpoint,
    userinfoEndpoint,
    refreshTokenTtlSeconds,
    async mintSession(accountId = 'demo-user', mintOptions = {}) {
      const registered = await provider.Client.find(CLIENT_ID);
      if (!registered) throw new Error(`client ${CLIENT_ID} is not registered`);
      const grant = new provider.Grant({ accountId, clientId: CLIENT_ID });
      grant.addOIDCScope(SCOPE);
      const grantId = await grant.save();
      const minted = await new provider.RefreshToken({
        accountId,
        client: registered,
        grantId,
        scope: SCOPE,
        gty: 'authorization_code',
        ...(mintOptions.dpop && { jkt: await thumbprint(mintOptions.dpop.publicKey) }),
      }).save();
      uncounted.add(minted);
      return refresh(minted, mintOptions);
    },
    async revokeAccessToken(accessToken) {
      await (await provider.AccessToken.find(accessToken, { ignoreExpiration: true }))?.destroy();
    },
    async accessTokenValid(accessToken) {
      const token = await provider.AccessToken.find(accessToken, { ignoreExpiration: true });
      return token !== undefined && (await provider.Grant.find(token.grantId)) !== undefined;
    },
    stats: () => ({ ...stats }),
    dpopStats: () => ({ ...dpopStats, jkts: [...dpopStats.jkts] }),
    resetStats() {
      stats = emptyStats();
      dpopStats = emptyDpopStats();
    },
    requireDpopNonce(required) {
      dpopNonceRequired = required;
    },
    onRefreshRequest(next) {
      hook = next;
    },
    refreshOutside: refresh,
    close: () => closeServer(server),
  };
}

/** An answer asking for a DPoP nonce: in the body at the token endpoint, in `WWW-Authenticate` at a resource. */
function isNonceChallenge(ctx: KoaContext): boolean {
  const body = ctx.body;
  const inBody = typeof body === 'object' && body !== null && 'error' in body && body.error === 'use_dpop_nonce';
  return inBody || /error="use_dpop_nonce"/.test(ctx.response.get('WWW-Authenticate'));
}

/** RFC 7638 thumbprint of the EC or RSA key in a DPoP proof's header; undefined without a readable proof. */
function proofThumbprint(proof: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(proof.split('.')[0] ?? '', 'base64url').toString()) as { jwk?: Record<string, string> };
    return header.jwk ? jwkThumbprint(header.jwk) : undefined;
  } catch {
    return undefined;
  }
}

function jwkThumbprint(jwk: Record<string, unknown>): string {
  const members = jwk['kty'] === 'EC' ? { crv: jwk['crv'], kty: jwk['kty'], x: jwk['x'], y: jwk['y'] } : { e: jwk['e'], kty: jwk['kty'], n: jwk['n'] };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

async function thumbprint(publicKey: CryptoKey): Promise<string> {
  return jwkThumbprint((await crypto.subtle.exportKey('jwk', publicKey)) as Record<string, unknown>);
}

function hasTokenType(body: unknown, type: string): boolean {
  return typeof body === 'object' && body !== null && 'token_type' in body && body.token_type === type;
}

function isPortlessLoopback(uri: string): boolean {
  const url = new URL(uri);
  return url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.port === '';
}

function isInvalidGrant(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'error' in body && body.error === 'invalid_grant';
}

/** oidc-provider warns on every construction that devInteractions is on; for this dev server that is the point. */
function withoutDevInteractionsWarning<T>(construct: () => T): T {
  const { warn } = console;
  console.warn = (...args: unknown[]) => {
    if (!String(args[0]).includes('devInteractions is enabled')) warn.apply(console, args);
  };
  try {
    return construct();
  } finally {
    console.warn = warn;
  }
}
