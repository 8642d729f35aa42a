/**
 * What the browser's and Node's `createTokenCoordinator` entries both export, the
 * same types and errors for the same options, methods and events: one list, so the
 * two entries cannot drift apart.
 */
export type { CoordinatorCore, CoordinatorState, GetAccessTokenOptions } from '../shared/coordinator.js';
export type { AbortSignalLike } from '../shared/abort.js';
export type { CoordinatorSettings, ProviderProfile } from '../shared/settings.js';
export type { ProviderOptions } from './provider-options.js';
export type { OAuthClientOptions } from './token-endpoint.js';
export type { Sealer, SealedStoreOptions } from './sealed-store.js';
export { sealWith, type Sealing } from './sealing.js';
export type { SessionChange, TokenHerdEvent, TokenHerdListener } from '../shared/events.js';
export { ErrorCode, TokenHerdError, isTokenHerdError } from '../shared/errors.js';
