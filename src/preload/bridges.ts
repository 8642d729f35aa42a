/**
 * The APIs the preloads expose with `contextBridge`, built on a structural
 * `ipcRenderer` so Node tests can drive them. Each function does one named
 * thing; pages never reach `ipcRenderer` itself.
 */
import { ARG_ROLE, ARG_SIGN_IN_REDIRECT, BROKER_REQUEST_CHANNEL, MAX_MESSAGE_LENGTH, isBrokerRequest, type BrokerAnswer, type BrokerAnswerMessage, type DesktopAppBridge, type EmbeddedViewBridge, type IpcResult } from '../desktop/ipc-contract.js';
import { DesktopErrorCode, isIpcErrorCode } from '../desktop/errors.js';
import { invokeIpc, readArgument, type IpcRendererLike } from './ipc.js';

const map = <T, U>(result: IpcResult<T>, f: (value: T) => U): IpcResult<U> => (result.ok ? { ok: true, value: f(result.value) } : result);

/** Only the contract's fields, whatever the page's answer function returned. */
function answerMessage(id: string, answer: BrokerAnswer | undefined): BrokerAnswerMessage {
  if (answer?.ok === true && typeof answer.accessToken === 'string') return { id, ok: true, accessToken: answer.accessToken };
  const code = answer?.ok === false && isIpcErrorCode(answer.code) ? answer.code : DesktopErrorCode.INTERNAL;
  const message = answer?.ok === false && typeof answer.message === 'string' ? answer.message : 'the window could not answer';
  return { id, ok: false, code, message: message.slice(0, MAX_MESSAGE_LENGTH) };
}

/** `window.tokenherdDesktop` of app windows (and of the hidden background window). */
export function createDesktopAppBridge(ipc: IpcRendererLike, argv: readonly string[]): DesktopAppBridge {
  const signInRedirectUri = readArgument(argv, ARG_SIGN_IN_REDIRECT) ?? '';
  const role = readArgument(argv, ARG_ROLE) === 'background' ? 'background' : 'window';
  return {
    version: 1,
    signInRedirectUri,
    role,
    seal: async (text) => map(await invokeIpc(ipc, 'tokenherd:seal', { text }), (r) => r.sealed),
    unseal: async (sealed) => map(await invokeIpc(ipc, 'tokenherd:unseal', { sealed }), (r) => r.text),
    signIn: async (authorizationUrl) => map(await invokeIpc(ipc, 'tokenherd:sign-in', { authorizationUrl }), (r) => r.callbackUrl),
    relayTokenRequest: ({ url, body }) => invokeIpc(ipc, 'tokenherd:token-request', { url, body }),
    serveTokenRequests(sessionKey, answer) {
      const listener = (_event: unknown, request: unknown): void => {
        if (!isBrokerRequest(request) || request.sessionKey !== sessionKey) return;
        const { id, minValiditySeconds, forceRefresh } = request;
        void (async () => {
          let result: BrokerAnswer | undefined;
          try {
            result = await answer({ ...(minValiditySeconds !== undefined && { minValiditySeconds }), ...(forceRefresh !== undefined && { forceRefresh }) });
          } catch (error) {
            result = { ok: false, code: DesktopErrorCode.INTERNAL, message: error instanceof Error ? error.message : String(error) };
          }
          await invokeIpc(ipc, 'tokenherd:broker-answer', answerMessage(id, result));
        })();
      };
      ipc.on(BROKER_REQUEST_CHANNEL, listener);
      void invokeIpc(ipc, 'tokenherd:broker-ready', { sessionKey, ready: true });
      return () => {
        ipc.removeListener(BROKER_REQUEST_CHANNEL, listener);
        void invokeIpc(ipc, 'tokenherd:broker-ready', { sessionKey, ready: false });
      };
    },
  };
}

/** `window.tokenherdBroker` of embedded views: one call, an access token, for allowlisted origins only (the main process decides). */
export function createEmbeddedViewBridge(ipc: IpcRendererLike): EmbeddedViewBridge {
  return {
    async getAccessToken(provider) {
      const result = await invokeIpc(ipc, 'tokenherd:view-access-token', { provider });
      if (result.ok) return result.value.accessToken;
      throw new Error(`${result.code}: ${result.message}`);
    },
  };
}
