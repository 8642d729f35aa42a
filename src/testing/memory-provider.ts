import type { Clock, RefreshOutcome, TokenEndpoint } from '../shared/ports.js';

/** How `createMemoryProvider`'s authorization server behaves. */
export interface MemoryProviderOptions {
  /** The time tokens are issued and expire by: the test's clock. */
  readonly clock: Clock;
  /** `expires_in` of issued access tokens. Default 3600. */
  readonly accessTokenTtlSeconds?: number;
  /** What a consumed refresh token gets: `revoke` the whole grant (oidc-provider), `reject` it alone (GitHub), or `allow` (no rotation: Google, Entra). */
  readonly reuse?: 'revoke' | 'reject' | 'allow';
  /** A consumed refresh token still works this long after its first use (Auth0 overlap, Okta grace). */
  readonly reuseGraceMs?: number;
}

/** An authorization server in memory: the coordinator's token endpoint, and what a test asks of the server. */
export interface MemoryProvider {
  /** The port a core sends its refresh requests to. */
  readonly endpoint: TokenEndpoint;
  /** A token response as sign-in would return it. */
  signIn(): Record<string, unknown>;
  /** Refresh outside any coordination, as a party outside the lock would. */
  refreshOutside(refreshToken: string): RefreshOutcome;
  /** Whether a resource server would accept `accessToken` now: issued here, unexpired, its grant not revoked. */
  accessTokenWorks(accessToken: string): boolean;
  /** The next requests get these outcomes instead of being served (a response is a raw JSON body). */
  script(...outcomes: RefreshOutcome[]): void;
  /** Awaited before each request is served; lets a test hold requests in flight. */
  onRequest(hook: ((refreshToken: string) => Promise<void> | void) | undefined): void;
  /** Refresh requests received, rejected, grants revoked for reuse, and the most requests in flight at once. */
  readonly stats: { requests: number; rejected: number; revocations: number; maxInFlight: number };
}

/**
 * A token endpoint with rotating, single-use refresh tokens and reuse detection: each
 * refresh token is consumed by its first use; unless `reuse` is `allow`, a later use
 * (once `reuseGraceMs` has passed) is rejected with `invalid_grant`, and with `revoke`
 * (the default) its whole grant is revoked.
 */
export function createMemoryProvider(options: MemoryProviderOptions): MemoryProvider {
  const { clock, accessTokenTtlSeconds = 3600, reuse = 'revoke', reuseGraceMs = 0 } = options;
  const refreshTokens = new Map<string, { grant: number; consumedAt?: number }>();
  const accessTokens = new Map<string, { grant: number; expiresAt: number }>();
  const revokedGrants = new Set<number>();
  const scripted: RefreshOutcome[] = [];
  const stats = { requests: 0, rejected: 0, revocations: 0, maxInFlight: 0 };
  let hook: ((refreshToken: string) => Promise<void> | void) | undefined;
  let inFlight = 0;
  let counter = 0;
  let grants = 0;

  function issue(grant: number, withRefreshToken: boolean): Record<string, unknown> {
    const accessToken = `at-${grant}-${++counter}`;
    accessTokens.set(accessToken, { grant, expiresAt: clock.now() + accessTokenTtlSeconds * 1000 });
    const response: Record<string, unknown> = { access_token: accessToken, token_type: 'Bearer', expires_in: accessTokenTtlSeconds };
    if (withRefreshToken) {
      const refreshToken = `rt-${grant}-${counter}`;
      refreshTokens.set(refreshToken, { grant });
      response['refresh_token'] = refreshToken;
    }
    return response;
  }

  function serve(refreshToken: string): RefreshOutcome {
    const record = refreshTokens.get(refreshToken);
    if (!record || revokedGrants.has(record.grant)) {
      stats.rejected++;
      return { kind: 'rejected', error: 'invalid_grant', status: 400 };
    }
    const reused = record.consumedAt !== undefined && clock.now() - record.consumedAt >= reuseGraceMs;
    if (reused && reuse !== 'allow') {
      stats.rejected++;
      if (reuse === 'revoke') {
        revokedGrants.add(record.grant);
        stats.revocations++;
      }
      return { kind: 'rejected', error: 'invalid_grant', status: 400 };
    }
    record.consumedAt ??= clock.now();
    return { kind: 'tokens', response: issue(record.grant, reuse !== 'allow') };
  }

  return {
    endpoint: {
      async refresh(refreshToken, { signal }) {
        stats.requests++;
        inFlight++;
        stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
        try {
          await hook?.(refreshToken);
          if (signal.aborted) throw signal.reason;
          return scripted.shift() ?? serve(refreshToken);
        } finally {
          inFlight--;
        }
      },
    },
    signIn: () => issue(++grants, true),
    refreshOutside: serve,
    accessTokenWorks(accessToken) {
      const record = accessTokens.get(accessToken);
      return record !== undefined && !revokedGrants.has(record.grant) && record.expiresAt > clock.now();
    },
    script: (...outcomes) => void scripted.push(...outcomes),
    onRequest(next) {
      hook = next;
    },
    stats,
  };
}
