import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import { createListenerSet, type ListenerSet } from '../shared/listeners.js';
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

/** The listeners of a notice port, by session key. */
export interface NoticeListeners {
  /** Registers `listener` for hints about `sessionKey`; returns the function that removes it. */
  listen(sessionKey: string, listener: (hint: SessionHint) => void): () => void;
  /** Calls the listeners of `hint.sessionKey`. */
  emit(hint: SessionHint): void;
  /** The session keys that have listeners. */
  keys(): IterableIterator<string>;
  /** How many session keys have listeners. */
  readonly size: number;
}

/**
 * Listener sets by session key, for the backends' notice ports. `onLast` is called
 * when the last listener of a key is removed, with the key.
 */
export function createNoticeListeners(onLast: (sessionKey: string) => void = () => {}): NoticeListeners {
  const byKey = new Map<string, ListenerSet<SessionHint>>();
  return {
    listen(sessionKey, listener) {
      const set = byKey.get(sessionKey) ?? createListenerSet();
      byKey.set(sessionKey, set);
      const remove = set.add(listener);
      return () => {
        remove();
        if (set.size > 0 || byKey.get(sessionKey) !== set) return;
        byKey.delete(sessionKey);
        onLast(sessionKey);
      };
    },
    emit: (hint) => byKey.get(hint.sessionKey)?.emit(hint),
    keys: () => byKey.keys(),
    get size() {
      return byKey.size;
    },
  };
}
