/**
 * `tokenherd/core`: what someone writing a new adapter needs. The pure coordinator
 * (`createCoordinatorCore`) and the ports it runs on, the records a store keeps and
 * their validator, the settings, events and errors. The decision table and the
 * channel's message codec are the core's own and not exported: the table can
 * change without breaking an adapter.
 */
export type { AbortSignalLike } from './abort.js';
export {
  createCoordinatorCore,
  herdName,
  type CoordinatorCore,
  type CoordinatorPorts,
  type CoordinatorState,
  type GetAccessTokenOptions,
} from './coordinator.js';
export { ErrorCode, TokenHerdError, isTokenHerdError } from './errors.js';
export type { SessionChange, TokenHerdEvent, TokenHerdListener } from './events.js';
export type { ChannelPort, Clock, CompareAndSetResult, LockPort, NetworkPort, ProviderRefusal, RefreshOutcome, RolePort, SessionStore, TimerHandle, TokenEndpoint } from './ports.js';
export { isStoredSession, isVersion, versionOf, type Backoff, type RefreshInFlight, type StoredSession, type TokenSet, type Version } from './session.js';
export { resolveSettings, type CoordinatorSettings, type ProviderProfile, type ResolvedSettings } from './settings.js';
