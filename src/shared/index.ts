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
export { MESSAGE_VERSION, announcementOf, parseMessage, hintOf, type SessionChangedMessage } from './messages.js';
export {
  MAX_ADOPTIONS,
  decide,
  judge,
  markerFor,
  usable,
  type Decision,
  type DecisionAt,
  type Need,
  type Recovery,
  type Sent,
  type Situation,
  type Vantage,
  type Verdict,
} from './decide.js';
export type { ChannelPort, Clock, CompareAndSetResult, LockPort, NetworkPort, RefreshOutcome, SessionStore, TimerHandle, TokenEndpoint } from './ports.js';
export { isStoredSession, parseTokenResponse, type ActiveSession, type RefreshInFlight, type StoredSession, type TokenSet } from './session.js';
export type { CoordinatorSettings, ProviderProfile, ResolvedSettings } from './settings.js';
