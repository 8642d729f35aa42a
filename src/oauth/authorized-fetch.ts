import type { CoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode, TokenHerdError, isTokenHerdError } from '../shared/errors.js';
import { invalidOption } from '../shared/settings.js';
import { readFailure, requestError } from './request-failure.js';

/**
 * Sends `request` authorized with `token` (a Bearer header, or a DPoP proof).
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-7
 */
export type AuthorizedSend = (request: Request, token: string) => Promise<Response>;

/**
 * `coordinator.fetch` for the browser and Node alike: the token of the moment; on a
 * 401, a newer one (another window's or process's, or one refresh) and one retry.
 * The request's own failures reach the caller coded, like the coordinator's:
 * INVALID_OPTIONS (not a request), ABORTED (its signal), TRANSIENT (the network) or
 * MISCONFIGURED (an unknown host, a certificate that does not verify), with its `url` and
 * the phase `resource-request`. `fetchImpl` sends the browser's probe that tells an unreachable
 * server from a refused CORS answer.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-3.1 (`invalid_token`: a 401 for a token that expired or was revoked)
 */
export function createAuthorizedFetch(core: Pick<CoordinatorCore, 'getAccessToken'>, send: AuthorizedSend, fetchImpl: typeof fetch) {
  return async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    let request: Request;
    try {
      request = new Request(input, init);
    } catch (failure) {
      throw invalidOption(`fetch: not a valid request: ${String(failure)}`);
    }
    const attempt = async (token: string): Promise<Response> => {
      try {
        return await send(request, token);
      } catch (failure) {
        if (isTokenHerdError(failure)) throw failure;
        if (request.signal.aborted) throw new TokenHerdError(ErrorCode.ABORTED, 'fetch was aborted', { cause: failure });
        const reading = await readFailure(failure, request.url, fetchImpl);
        const code = reading.kind === 'misconfigured' ? ErrorCode.MISCONFIGURED : ErrorCode.TRANSIENT;
        throw requestError(code, { url: request.url, phase: 'resource-request' }, reading.detail, { cause: failure });
      }
    };
    const token = await core.getAccessToken({ signal: request.signal });
    const response = await attempt(token);
    if (response.status !== 401) return response;
    await response.body?.cancel();
    // Another window or process may have stored a newer token already; otherwise refresh the one refused.
    const newer = await core.getAccessToken({ signal: request.signal });
    return attempt(newer !== token ? newer : await core.getAccessToken({ forceRefresh: true, signal: request.signal }));
  };
}

/**
 * The plain send: `Authorization: Bearer <token>`.
 * @see https://www.rfc-editor.org/rfc/rfc6750#section-2.1
 */
export function bearerSend(fetchImpl: typeof fetch): AuthorizedSend {
  return (request, token) => {
    const attempt = request.clone();
    attempt.headers.set('authorization', `Bearer ${token}`);
    return fetchImpl(attempt);
  };
}
