/**
 * The app window's side of the Electron shell, on the bridge the app preload
 * exposes (`window.tokenherdDesktop`, see ./ipc-contract.ts). Nothing
 * here imports Electron: in a plain browser the bridge is simply absent.
 */
import { isRelayedTokenResponse, type BrokerAnswer, type DesktopAppBridge, type IpcResult, type TokenQuery } from './ipc-contract.js';
import { TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode, ipcErrorCodeOf } from './errors.js';
import type { Sealer } from '../oauth/sealed-store.js';

/** What the token broker needs of a coordinator: a `TokenCoordinator` (or `CoordinatorCore`) is one. */
export interface AccessTokenSource {
  getAccessToken(options?: TokenQuery): Promise<string>;
}

/**
 * The value of a bridge call's result.
 * @throws TokenHerdError with the code the main process answered
 */
export function valueOfIpcResult<T>(result: IpcResult<T>): T {
  if (result.ok) return result.value;
  throw new TokenHerdError(result.code, result.message);
}

/** The main process's keychain as the sealed store's port. */
export function sealerFromBridge(bridge: Pick<DesktopAppBridge, 'seal' | 'unseal'>): Sealer {
  return {
    seal: async (text) => valueOfIpcResult(await bridge.seal(text)),
    unseal: async (sealed) => valueOfIpcResult(await bridge.unseal(sealed)),
  };
}

/**
 * A `fetch` for the coordinator's token endpoint requests (`tokenEndpointFetch`)
 * that has the main process send them (src/main/token-relay.ts): for a provider
 * whose token endpoint allows no CORS, with the client secret kept out of the
 * window. It carries POSTs only, so set `tokenEndpoint` (no discovery). A failure
 * of the relay rejects, as a network error would.
 * @see RFC 6749 §6 (the refresh request it carries)
 */
export function relayedFetch(bridge: Pick<DesktopAppBridge, 'relayTokenRequest'>): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    if (request.method !== 'POST') {
      throw new TypeError(`the token relay carries token endpoint POSTs only, not ${request.method} ${request.url}: set tokenEndpoint, so no discovery is needed`);
    }
    const answer = valueOfIpcResult(await bridge.relayTokenRequest({ url: request.url, body: await request.text() }));
    if (!isRelayedTokenResponse(answer)) throw new TypeError('the token relay answered something that is not a token endpoint response');
    return new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers });
  };
}

/**
 * Answers one token query of the main process (for an embedded view or the main
 * process itself) from this window's coordinator: an access token, or an error
 * code. The answer has no room for anything else, and the main process refuses
 * any answer with extra fields.
 */
export async function answerTokenQuery(coordinator: AccessTokenSource, query: TokenQuery): Promise<BrokerAnswer> {
  try {
    const accessToken = await coordinator.getAccessToken({
      ...(query.minValiditySeconds !== undefined && { minValiditySeconds: query.minValiditySeconds }),
      ...(query.forceRefresh !== undefined && { forceRefresh: query.forceRefresh }),
    });
    return { ok: true, accessToken };
  } catch (error) {
    const code = ipcErrorCodeOf(error) ?? DesktopErrorCode.INTERNAL;
    return { ok: false, code, message: (error instanceof Error ? error.message : String(error)).slice(0, 1000) };
  }
}

/** Lets the main process's token broker ask this window's coordinator; returns the function that stops it. */
export function serveTokenRequests(
  bridge: Pick<DesktopAppBridge, 'serveTokenRequests'>,
  sessionKey: string,
  coordinator: AccessTokenSource,
): () => void {
  return bridge.serveTokenRequests(sessionKey, (query) => answerTokenQuery(coordinator, query));
}
