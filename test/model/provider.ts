/**
 * A small fake authorization server for the model: refresh-token rotation, reuse
 * detection (reusing a consumed refresh token revokes the grant, unless the
 * profile grants a reuse window or does not rotate), refresh-token lifetimes on
 * the real clock, and a log of every request the properties read.
 */
import type { RefreshOutcome } from '../../src/shared/index.js';

export type ProviderKind = 'oidc' | 'grace' | 'non-rotating';

export interface ProviderConfig {
  readonly kind: ProviderKind;
  readonly graceMs: number;
  readonly accessTtlSeconds: number;
  /** `refresh_token_expires_in`, GitHub style; undefined: refresh tokens do not expire. */
  readonly refreshTtlSeconds: number | undefined;
}

/** An access token that reached a window (a sign-in, or a delivered refresh response). */
export interface Issued {
  readonly grant: number;
  /** The model step at which it reached the window. */
  readonly step: number;
  /** Its expiry on the windows' wall clock: receipt plus `expires_in`, as the core computes it. */
  readonly localExpiresAt: number;
}

interface RefreshRecord {
  readonly grant: number;
  readonly expiresAt: number | undefined;
  consumedAt?: number;
}

/** The grant an access or refresh token belongs to: the fake issues `at-<grant>-<n>` and `rt-<grant>-<n>`. */
export function grantOf(token: string | undefined): number | undefined {
  const match = /^(?:at|rt)-(\d+)-/.exec(token ?? '');
  return match ? Number(match[1]) : undefined;
}

export function createAuthorizationServer(config: ProviderConfig, realNow: () => number) {
  const refreshTokens = new Map<string, RefreshRecord>();
  const revoked = new Set<number>();
  const issued = new Map<string, Issued>();
  let counter = 0;
  let grants = 0;

  function issue(grant: number, rotate: boolean): Record<string, unknown> {
    const n = ++counter;
    const response: Record<string, unknown> = { access_token: `at-${grant}-${n}`, token_type: 'Bearer', expires_in: config.accessTtlSeconds };
    if (rotate) {
      const refreshToken = `rt-${grant}-${n}`;
      const expiresAt = config.refreshTtlSeconds === undefined ? undefined : realNow() + config.refreshTtlSeconds * 1000;
      refreshTokens.set(refreshToken, { grant, expiresAt });
      response['refresh_token'] = refreshToken;
      if (config.refreshTtlSeconds !== undefined) response['refresh_token_expires_in'] = config.refreshTtlSeconds;
    }
    return response;
  }

  /** Whether a refresh with `refreshToken` would succeed now. */
  function accepts(refreshToken: string | undefined): boolean {
    const record = refreshToken === undefined ? undefined : refreshTokens.get(refreshToken);
    if (!record || revoked.has(record.grant)) return false;
    if (record.expiresAt !== undefined && record.expiresAt <= realNow()) return false;
    if (record.consumedAt === undefined || config.kind === 'non-rotating') return true;
    return config.kind === 'grace' && realNow() - record.consumedAt < config.graceMs;
  }

  return {
    issued,
    accepts,
    /** A new grant, as the sign-in flow returns it. */
    signIn(): Record<string, unknown> {
      return issue(++grants, true);
    },
    /** Serves one refresh_token grant: rotation, and reuse detection that revokes the grant. */
    serve(refreshToken: string): RefreshOutcome {
      const record = refreshTokens.get(refreshToken);
      if (record && !accepts(refreshToken) && record.consumedAt !== undefined && !revoked.has(record.grant)) revoked.add(record.grant);
      if (!record || !accepts(refreshToken)) return { kind: 'rejected', error: 'invalid_grant' };
      record.consumedAt ??= realNow();
      return { kind: 'tokens', response: issue(record.grant, config.kind !== 'non-rotating') };
    },
    /** The grant is revoked (a user revoked the app, an admin ended the session): every refresh token of it is refused. */
    revoke(refreshToken: string): void {
      const grant = grantOf(refreshToken);
      if (grant !== undefined) revoked.add(grant);
    },
    /** Consumes the token as a processed request would, without issuing usable tokens (a 2xx whose body was mangled). */
    consume(refreshToken: string): void {
      const record = refreshTokens.get(refreshToken);
      if (record && accepts(refreshToken)) record.consumedAt ??= realNow();
    },
  };
}

export type AuthorizationServer = ReturnType<typeof createAuthorizationServer>;
