import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import type { SessionHint } from '../shared/messages.js';
import type { LockPort, SessionStore } from '../shared/ports.js';

export type { SessionHint } from '../shared/messages.js';

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

/** TRANSIENT for a failed file or database operation: `message`, then what failed underneath (kept as `cause`). */
export function transient(message: string, cause: unknown): TokenHerdError {
  return new TokenHerdError(ErrorCode.TRANSIENT, `${message}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}
