/**
 * `tokenherd/testing`: in-memory implementations of the core's ports, for fast
 * tests of code built on `tokenherd/core`. Test doubles only; nothing in the
 * other entries imports this one.
 */
export {
  createManualClock,
  createMemoryChannelHub,
  createMemoryLocks,
  createMemoryProvider,
  createMemoryStore,
  type ManualClock,
  type MemoryChannelHub,
  type MemoryLocks,
  type MemoryProvider,
  type MemoryProviderOptions,
  type MemoryStore,
} from './memory.js';
// The ports these implement, so a test can name them without a second import.
export type { ChannelPort, Clock, CompareAndSetResult, LockPort, ProviderRefusal, RefreshOutcome, SessionStore, TimerHandle, TokenEndpoint } from '../shared/ports.js';
export type { AbortSignalLike } from '../shared/abort.js';
export type { Backoff, RefreshInFlight, StoredSession, TokenSet } from '../shared/session.js';
