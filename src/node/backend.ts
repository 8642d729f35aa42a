import type { LockPort, SessionStore } from '../shared/ports.js';

/** A token-free notice: `sessionKey` now stores `generation`. Receivers re-read the store. */
export interface SessionHint {
  readonly sessionKey: string;
  readonly generation: number;
}

/** Notices between processes. A notice is only a hint: losing one costs a later read, never a token. */
export interface NoticePort {
  /** Tells other processes; never throws (a failed notice is made up for by the next read). */
  announce(hint: SessionHint): void;
  /** Calls `listener` for notices about `sessionKey` (possibly this process's own: one redundant read). */
  listen(sessionKey: string, listener: (hint: SessionHint) => void): () => void;
}

/**
 * Where Node coordinators keep sessions and how they exclude each other across
 * processes: the file backend (one machine) or the PostgreSQL backend (server
 * replicas). One backend serves any number of coordinators and session keys; the
 * caller that created it closes it.
 */
export interface SessionBackend {
  /** Exclusive across processes; names are `tokenherd:<sessionKey>`. */
  readonly lock: LockPort;
  /** Its `close()` is a no-op: the backend's own `close()` releases what it holds. */
  readonly store: SessionStore;
  readonly notices: NoticePort;
  close(): Promise<void>;
}
