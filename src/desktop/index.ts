/**
 * `tokenherd/desktop`: an app window's side of the Electron shell (see
 * docs/electron.md). It talks to the main process only through the bridge the
 * app preload exposes (`window.tokenherdDesktop`); nothing here imports Electron.
 */
export { answerTokenQuery, relayedFetch, sealerFromBridge, serveTokenRequests, valueOfIpcResult, type AccessTokenSource } from './bridge.js';
export { ErrorCode, TokenHerdError, isTokenHerdError } from '../shared/errors.js';
export { DesktopErrorCode } from './errors.js';
export { SEALED_PREFIX, createSealedStore, type Sealer, type SealedStoreOptions } from '../oauth/sealed-store.js';
export type {
  BrokerAnswer,
  DesktopAppBridge,
  EmbeddedViewBridge,
  IpcResult,
  RelayedTokenRequest,
  RelayedTokenResponse,
  TokenQuery,
} from './ipc-contract.js';
// The port that createSealedStore wraps, and what it stores.
export type { CompareAndSetResult, SessionStore } from '../shared/ports.js';
export type { RefreshInFlight, StoredSession, TokenSet } from '../shared/session.js';
