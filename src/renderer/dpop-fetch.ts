import * as oauth from 'oauth4webapi';
import { retryOnNonceChallenge } from '../oauth/dpop-nonce.js';
import type { Dpop } from './dpop.js';
import type { StoredDpopKey } from './dpop-key-store.js';

/**
 * Options of `createDpopFetch`: the session's DPoP proof maker and the fetch that sends.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7 (protected resource access)
 */
export interface DpopFetchOptions {
  readonly dpop: Dpop;
  /** Sends the request with its headers set. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** Allows `http:` resource URLs (oauth4webapi refuses them otherwise). Development only. */
  readonly allowInsecureRequests?: boolean;
}

/**
 * Sends `request` with `Authorization: DPoP <accessToken>` and a fresh proof of the session's
 * key (`htm`, `htu`, `ath` = hash of the token). Resolves undefined, sending nothing, when
 * the session has no key: its tokens cannot be used without it.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7.1 (the DPoP authorization scheme and `ath`)
 */
export type DpopSend = (request: Request, accessToken: string) => Promise<Response | undefined>;

/**
 * The resource-request half of `coordinator.fetch` with DPoP (RFC 9449 section 7).
 * oauth4webapi makes the proof; the request itself goes out as the caller built it
 * (method, body, credentials, signal). A resource server's nonce challenge
 * (`WWW-Authenticate: DPoP error="use_dpop_nonce"`) is answered by one retry with the
 * nonce it carried; any other answer, 401 included, is returned as it is, for the
 * coordinator to handle as it handles a refused bearer token.
 *
 * The key is read from IndexedDB once per access token, not per call: a new token (after
 * a refresh or a sign-in in any window) re-reads it, so a rotated or deleted key is seen.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-9 (resource server nonce)
 */
export function createDpopFetch(options: DpopFetchOptions): DpopSend {
  const { dpop } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const insecure = options.allowInsecureRequests === true;
  let keyFor: { accessToken: string; key: StoredDpopKey | undefined } | undefined;

  return async (request, accessToken) => {
    if (keyFor?.accessToken !== accessToken) keyFor = { accessToken, key: await dpop.key() };
    const { key } = keyFor;
    if (key === undefined) return undefined;
    const url = new URL(request.url);
    const proofs = dpop.requestOptions(dpop.handle(key), (_url, init) => {
      // Only the two headers oauth4webapi computed are taken from its request; the rest is the caller's.
      const attempt = request.clone();
      const headers = new Headers(init?.headers);
      attempt.headers.set('authorization', headers.get('authorization') ?? '');
      attempt.headers.set('dpop', headers.get('dpop') ?? '');
      return fetchImpl(attempt);
    });
    const send = async (): Promise<Response> => {
      try {
        return await oauth.protectedResourceRequest(accessToken, request.method, url, new Headers(), null, {
          ...proofs,
          [oauth.allowInsecureRequests]: insecure,
        });
      } catch (error) {
        // A challenge other than use_dpop_nonce is the answer, for the caller (use_dpop_nonce is retried once).
        if (error instanceof oauth.WWWAuthenticateChallengeError && !oauth.isDPoPNonceError(error)) return error.response;
        throw error;
      }
    };
    try {
      return await retryOnNonceChallenge(() => dpop.firstContact(url.origin, send));
    } catch (error) {
      // use_dpop_nonce again after the retry: that answer is the result.
      if (error instanceof oauth.WWWAuthenticateChallengeError) return error.response;
      throw error;
    }
  };
}
