/**
 * `tokenherd/testing`: in-memory implementations of the core's ports, for fast
 * tests of code built on `tokenherd/core`. Test doubles only; nothing in the
 * other entries imports this one.
 */
export {
  createManualClock,
  createMemoryChannelHub,
  createMemoryLocks,
  createMemoryStore,
  type ManualClock,
  type MemoryChannelHub,
  type MemoryLocks,
  type MemoryStore,
} from './memory.js';
export { createMemoryProvider, type MemoryProvider, type MemoryProviderOptions } from './memory-provider.js';
// The ports these implement, so a test can name them without a second import.
export type { ChannelPort, Clock, CompareAndSetResult, LockPort, ProviderRefusal, RefreshOutcome, SessionStore, TimerHandle, TokenEndpoint } from '../shared/ports.js';
export type { AbortSignalLike } from '../shared/abort.js';
export type { Backoff, RefreshInFlight, StoredSession, TokenSet, Version } from '../shared/session.js';
