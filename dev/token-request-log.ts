/** The dev server's report of each token request: grant, outcome and refresh-token generation. */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type Provider from 'oidc-provider';
import type { Middleware } from 'oidc-provider';

export interface TokenRequestEntry {
  /** `authorization_code`, `refresh_token`, ... as the request said. */
  readonly grantType: string;
  readonly status: number;
  /** The OAuth error of a refused request (`invalid_grant`, ...). */
  readonly error?: string;
  /**
   * The refresh token's place in its session: 1 for the one the code exchange issued, N + 1 after
   * N rotations. For a success, the issued token's; for a refused refresh, the presented one's
   * (undefined when the server no longer knows it: revoked, or from before a restart that lost it).
   */
  readonly generation?: number;
  /** A refresh with a token that was already rotated: reuse, which revokes the grant. */
  readonly reused?: boolean;
}

/** Middleware that reads the form of each token request (and puts it back) and reports the answer. */
export function tokenRequestLog(provider: Provider, tokenPath: string, report: (entry: TokenRequestEntry) => void): Middleware {
  const generationOf = async (refreshToken: string) => {
    const found = await provider.RefreshToken.find(refreshToken, { ignoreExpiration: true });
    return found && { generation: (found.rotations ?? 0) + 1, consumed: found.consumed !== undefined };
  };
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath || !ctx.is('application/x-www-form-urlencoded')) return next();
    const { socket } = ctx.req as IncomingMessage;
    const body = await buffer(ctx.req);
    // The body is read once; the next middleware reads this copy, and may watch the socket.
    ctx.req = Object.assign(Readable.from([body]), { socket });
    const form = new URLSearchParams(body.toString());
    const grantType = form.get('grant_type') ?? '';
    const presented = grantType === 'refresh_token' ? await generationOf(form.get('refresh_token') ?? '') : undefined;
    await next();
    const answer = (typeof ctx.body === 'object' && ctx.body !== null ? ctx.body : {}) as { refresh_token?: unknown; error?: unknown };
    const issued = typeof answer.refresh_token === 'string' ? await generationOf(answer.refresh_token) : undefined;
    const generation = issued?.generation ?? presented?.generation;
    report({
      grantType,
      status: ctx.status,
      ...(typeof answer.error === 'string' && { error: answer.error }),
      ...(generation !== undefined && { generation }),
      ...(presented?.consumed && { reused: true }),
    });
  };
}

/** One line per request, for the server's console. */
export function formatTokenRequest(entry: TokenRequestEntry, at = new Date()): string {
  const outcome = entry.status === 200 ? 'ok' : `refused ${entry.status} ${entry.error ?? ''}`.trim();
  const generation = entry.generation === undefined ? 'generation unknown' : `generation ${entry.generation}`;
  const reuse = entry.reused ? ' (a refresh token used before: reuse, the grant is revoked)' : '';
  return `${at.toISOString().slice(11, 19)} token request ${entry.grantType}: ${outcome}, ${generation}${reuse}`;
}
