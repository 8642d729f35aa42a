import * as oauth from 'oauth4webapi';
import { ErrorCode, type RequestContext } from '../shared/errors.js';
import { requestError } from './request-failure.js';

/** Where oauth4webapi looks for the metadata of `issuer` by `algorithm` (OpenID Connect Discovery §4, RFC 8414 §3). */
export function wellKnownUrl(issuer: URL, algorithm: 'oidc' | 'oauth2'): string {
  const url = new URL(issuer.href);
  url.pathname =
    algorithm === 'oidc'
      ? `${url.pathname}/.well-known/openid-configuration`.replace('//', '/')
      : url.pathname === '/'
        ? '/.well-known/oauth-authorization-server'
        : `/.well-known/oauth-authorization-server${url.pathname}`;
  return url.href;
}

/** What one discovery request came to: the server's metadata, an answer that waiting may change (5xx, 429), or one that it will not. */
export type DiscoveryAnswer =
  | { readonly kind: 'found'; readonly server: oauth.AuthorizationServer }
  | { readonly kind: 'busy'; readonly where: RequestContext; readonly status: number }
  | { readonly kind: 'wrong'; readonly where: RequestContext; readonly what: string; readonly status: number; readonly cause?: unknown };

/**
 * Reads one discovery answer: 5xx and 429 are for later; any other failure (no document at
 * that URL, one that names another issuer, one without a token endpoint) is the issuer's
 * configuration. A network failure rejects, for the caller to read.
 * @see https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfigurationValidation
 * @see https://www.rfc-editor.org/rfc/rfc8414#section-3.3 (the issuer must match)
 */
export async function readDiscoveryAnswer(issuer: URL, url: string, response: Response): Promise<DiscoveryAnswer> {
  const where: RequestContext = { url, phase: 'discovery' };
  const { status } = response;
  if (status === 429 || status >= 500) {
    await response.body?.cancel();
    return { kind: 'busy', where, status };
  }
  try {
    const server = await oauth.processDiscoveryResponse(issuer, response);
    if (server.token_endpoint === undefined) return { kind: 'wrong', where, status, what: 'the metadata names no token_endpoint: set tokenEndpoint' };
    return { kind: 'found', server };
  } catch (cause) {
    const named = (cause as { cause?: { body?: { issuer?: unknown } } }).cause?.body?.issuer;
    const what =
      status !== 200
        ? `HTTP ${status}, no metadata here`
        : typeof named === 'string' && named !== issuer.href
          ? `the metadata names the issuer ${named}, not ${issuer.href}: set issuer to exactly what the server names`
          : `not the metadata of ${issuer.href}: ${cause instanceof Error ? cause.message : String(cause)}`;
    return { kind: 'wrong', where, status, what, cause };
  }
}

/** MISCONFIGURED for an issuer whose metadata neither discovery URL serves. */
export function noMetadata(issuer: URL, answers: ReadonlyArray<Extract<DiscoveryAnswer, { kind: 'wrong' }>>): Error {
  const last = answers[answers.length - 1]!;
  const tried = answers.map(({ where, what }) => `${where.url}: ${what}`).join('; ');
  return requestError(ErrorCode.MISCONFIGURED, last.where, `no usable metadata for the issuer ${issuer.href} (${tried}). Check issuer, or set tokenEndpoint`, {
    cause: last.cause,
    status: last.status,
  });
}
