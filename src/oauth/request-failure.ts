import { ErrorCode, TokenHerdError, type RequestContext } from '../shared/errors.js';

/**
 * What a request that got no answer it could read tells about itself:
 * - `unreachable`: nothing reached a server (a refused connection, a name that does not resolve
 *   for now, no route), so nothing was processed and sending again is safe; in a browser, where
 *   every such failure reads `Failed to fetch`, its server cannot be reached by any request now;
 * - `misconfigured`: waiting will not help (an unknown host, a certificate that does not verify);
 * - `unread`: in a browser, its server answers other requests, but this one got no answer the page
 *   may read: CORS refused it (a wrong path, whose 404 carries no CORS headers, or an origin the
 *   server does not allow), or the connection broke (the request may have been processed);
 * - `lost`: the connection broke, or a failure that says no more (the desktop relay's, already
 *   coded): the request may have been processed.
 */
export interface FailureReading {
  readonly kind: 'unreachable' | 'misconfigured' | 'unread' | 'lost';
  /** What happened, for people. */
  readonly detail: string;
}

/** Node's (undici's) codes of a connection that never carried the request. */
const NOT_SENT = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);
/** Node's codes that no wait fixes: an unknown host, a TLS setup that cannot work. */
const MISCONFIGURED = new Set([
  'ENOTFOUND',
  'EPROTO',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** The first `code` along `failure`'s causes (undici puts the socket's error in `cause`, sometimes as an AggregateError). */
function codeOf(failure: unknown, depth = 0): string | undefined {
  if (typeof failure !== 'object' || failure === null || depth > 4) return undefined;
  const { code, cause, errors } = failure as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  return codeOf(cause, depth + 1) ?? (Array.isArray(errors) ? codeOf(errors[0], depth + 1) : undefined);
}

/**
 * What browsers' fetch rejects with when the network failed: Chromium (and Electron), Firefox, Safari.
 * Any other failure (a custom fetch's, the desktop relay's) is not read further: its outcome is unknown.
 */
const BROWSER_NETWORK_ERRORS = new Set(['Failed to fetch', 'NetworkError when attempting to fetch resource.', 'Load failed']);

const describe = (failure: unknown): string => (failure instanceof Error ? failure.message : String(failure));

/**
 * Reads a failed request to `url`. Node names the socket's error; a browser says only
 * `Failed to fetch`, so there one opaque GET (`no-cors`: it needs no CORS headers and
 * carries no credentials) tells an unreachable server from one whose answer was unreadable.
 * Any other failure (the desktop relay's, a custom fetch's) is `lost`: its outcome is unknown.
 */
export async function readFailure(failure: unknown, url: string, fetchImpl: typeof fetch, signal?: AbortSignal): Promise<FailureReading> {
  const code = codeOf(failure);
  if (code !== undefined && NOT_SENT.has(code)) return { kind: 'unreachable', detail: `${code}: nothing accepts connections there (${describe(failure)})` };
  if (code !== undefined && MISCONFIGURED.has(code)) return { kind: 'misconfigured', detail: `${code}: ${describe(failure)}` };
  if (code !== undefined || !(failure instanceof TypeError) || !BROWSER_NETWORK_ERRORS.has(failure.message)) {
    return { kind: 'lost', detail: code === undefined ? describe(failure) : `${code}: ${describe(failure)}` };
  }
  try {
    const probe = await fetchImpl(url, { method: 'GET', mode: 'no-cors', credentials: 'omit', ...(signal && { signal }) });
    await probe.body?.cancel();
  } catch {
    return { kind: 'unreachable', detail: `${describe(failure)}; no request reaches ${new URL(url).origin} (refused, an unknown host, or blocked)` };
  }
  return {
    kind: 'unread',
    detail: `${describe(failure)}; ${new URL(url).origin} answers other requests, so the connection broke or CORS refused the answer (a wrong path: a 404 carries no CORS headers; or an origin the server does not allow)`,
  };
}

const PHASES: Record<RequestContext['phase'], string> = {
  discovery: 'discovery of the authorization server',
  'token-request': 'token request',
  'resource-request': 'request',
};

/** `what` of the request at `where`, for messages: "token request to https://…: what". */
export function atRequest(where: RequestContext, what: string): string {
  return `${PHASES[where.phase]} to ${where.url}: ${what}`;
}

/** A request's failure as the caller's error, naming its URL and phase (also as the `url` and `phase` fields). */
export function requestError(code: ErrorCode, where: RequestContext, what: string, more: { readonly cause?: unknown; readonly status?: number } = {}): TokenHerdError {
  return new TokenHerdError(code, `${code === ErrorCode.MISCONFIGURED ? 'Misconfigured' : 'Failed'} ${atRequest(where, what)}`, { ...where, ...more });
}
