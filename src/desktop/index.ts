/**
 * `tokenherd/desktop`: an app window's side of the Electron shell (see
 * docs/electron.md). It talks to the main process only through the bridge the
 * app preload exposes (`window.tokenherdDesktop`); nothing here imports Electron.
 * The window's coordinator and its errors come from `tokenherd`; given
 * `sealing: sealWith(sealerFromBridge(...))`, the coordinator seals the refresh token itself.
 */
export { relayedFetch, sealerFromBridge, serveTokenRequests, type AccessTokenSource } from './bridge.js';
export type {
  BrokerAnswer,
  DesktopAppBridge,
  EmbeddedViewBridge,
  IpcResult,
  RelayedTokenRequest,
  RelayedTokenResponse,
  TokenQuery,
} from './ipc-contract.js';
// What the bridge's results and the broker's answers carry, and what sealerFromBridge makes.
export { ErrorCode } from '../shared/errors.js';
export { DesktopErrorCode, type IpcErrorCode } from './errors.js';
export type { Sealer } from '../oauth/sealed-store.js';
// The main process's side of the sign-in: the system browser and a loopback redirect (RFC 8252), Electron's and Node's objects passed in.
export {
  signInWithSystemBrowser,
  userAgentFromBridge,
  type LoopbackRequest,
  type LoopbackResponse,
  type LoopbackServer,
  type SystemBrowserDeps,
  type SystemBrowserSignInOptions,
} from './loopback-sign-in.js';
