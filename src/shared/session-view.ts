import type { Recovery } from './decide.js';
import { ErrorCode, TokenHerdError, isTokenHerdError } from './errors.js';
import type { SessionChange, TokenHerdEvent } from './events.js';
import type { Lifetime } from './lifetime.js';
import { createListenerSet } from './listeners.js';
import { announcementOf, type SessionChangedMessage } from './messages.js';
import type { ChannelPort, CompareAndSetResult, SessionStore } from './ports.js';
import { versionOf, type ActiveSession, type StoredSession, type Version } from './session.js';

/**
 * The session as one window knows it: the last record it read, wrote or was
 * announced, and the store calls that change what it knows. Results are applied
 * in the order their calls started, so a slow read never overwrites what a later
 * read, an announcement or this window's own write established.
 */
export interface SessionView {
  /** The record this window holds now; undefined before the first read, or when none is stored. */
  current(): StoredSession | undefined;
  /** Whether the store has been read (or a session announced) once. */
  loaded(): boolean;
  /** Reads the store and takes up what it holds. @throws TRANSIENT (storage failed), CLOSED */
  read(): Promise<StoredSession | undefined>;
  /**
   * I3, persist first: compare-and-set `next` over `expected`; only a durable write is
   * announced, with the access token and never the refresh token. A refused write
   * takes up what the store holds instead.
   */
  write(expected: Version, next: StoredSession, change: SessionChange): Promise<CompareAndSetResult>;
  /** Holds `record` in this window only, as if written: rotated tokens the store could not take yet (I12). */
  hold(record: StoredSession): void;
  /** Rewrites the recovery fields of the stored `session`, unannounced (nothing another window uses changes). */
  annotate(session: ActiveSession, recovery: Recovery): Promise<boolean>;
  /**
   * I4 on the channel: a newer announced session is used at once, and confirmed by a store read
   * that does not delay any caller; anything else is a hint to re-read.
   */
  receive(message: SessionChangedMessage): void;
  /**
   * Re-reads the store, joining a re-read in flight (and running one more after it).
   * @throws what the read throws: TRANSIENT, STORE_CORRUPT, INVALID_OPTIONS (a misconfigured store), CLOSED
   */
  reread(): Promise<void>;
  /** Calls `watcher` after each change of what this window holds; returns the unsubscribe function. */
  onChange(watcher: () => void): () => void;
  close(): void;
}

/** What the session view runs on; `emit` reports `session-changed`. */
export interface SessionViewPorts {
  readonly sessionKey: string;
  readonly store: SessionStore;
  readonly channel: ChannelPort;
  readonly lifetime: Lifetime;
  readonly emit: (event: TokenHerdEvent) => void;
}

/** Two records are the same session state (equal generations can be two sessions: storage cleared, then a new sign-in). */
function same(a: StoredSession | undefined, b: StoredSession | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.generation !== b.generation || a.state !== b.state) return false;
  return a.state !== 'active' || (b.state === 'active' && a.tokens.accessToken === b.tokens.accessToken);
}

/** How a record stored by someone else looks from here. */
function changeOf(record: StoredSession | undefined): SessionChange {
  if (record === undefined) return 'signed-out';
  if (record.state === 'signed-out') return record.cause;
  return record.cause === 'signed-in' ? 'signed-in' : 'adopted';
}

/** The session view of one window, empty until its first read. */
export function createSessionView({ sessionKey, store, channel, lifetime, emit }: SessionViewPorts): SessionView {
  const watchers = createListenerSet<void>();
  let memory: StoredSession | undefined;
  let loaded = false;
  let started = 0;
  let applied = 0;
  // I10, forward only: the highest generation a hint has told of, until a read that started
  // after that hint shows what the store holds. An announcement not newer than it is stale.
  let hinted = 0;
  let hintOrder = 0;
  let rereading: Promise<void> | undefined;
  let rereadAgain = false;

  function apply(record: StoredSession | undefined, change: SessionChange, order: number): void {
    if (order <= applied) return;
    applied = order;
    const changed = loaded ? !same(memory, record) : record !== undefined;
    loaded = true;
    memory = record;
    if (!changed) return;
    const expiresAt = record?.state === 'active' ? record.tokens.expiresAt : undefined;
    emit({ type: 'session-changed', change, generation: record?.generation ?? 0, ...(expiresAt !== undefined && { expiresAt }) });
    watchers.emit();
  }

  /** A store call whose failure reaches callers coded: CLOSED once closed, a TokenHerdError as it is, anything else TRANSIENT. */
  async function storeCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      if (lifetime.closed()) throw lifetime.closedError();
      return result;
    } catch (failure) {
      if (lifetime.closed()) throw lifetime.closedError();
      if (isTokenHerdError(failure)) throw failure;
      const message = failure instanceof Error ? failure.message : String(failure);
      throw new TokenHerdError(ErrorCode.TRANSIENT, `Session storage failed: ${message}`, { cause: failure });
    }
  }

  async function read(): Promise<StoredSession | undefined> {
    const order = ++started;
    const record = await storeCall(() => store.read(sessionKey));
    apply(record, changeOf(record), order);
    if (order > hintOrder) hinted = 0;
    return record;
  }

  function reread(): Promise<void> {
    if (rereading) {
      rereadAgain = true;
      return rereading;
    }
    rereading = (async () => {
      do {
        rereadAgain = false;
        await read();
      } while (rereadAgain && !lifetime.closed());
    })().finally(() => {
      rereading = undefined;
    });
    return rereading;
  }

  return {
    current: () => memory,
    loaded: () => loaded,
    read,
    reread,

    async write(expected, next, change) {
      const order = ++started;
      const result = await storeCall(() => store.compareAndSet(sessionKey, expected, next));
      if (result.ok) {
        apply(next, change, order);
        channel.post(announcementOf(next));
      } else {
        apply(result.current, changeOf(result.current), order);
      }
      return result;
    },

    hold(record) {
      apply(record, 'rotated', ++started);
    },

    async annotate(session, recovery) {
      const { refreshInFlight: _marker, backoff: _backoff, ...record } = session;
      const order = ++started;
      const result = await storeCall(() => store.compareAndSet(sessionKey, versionOf(session), { ...record, ...recovery }));
      if (!result.ok) apply(result.current, changeOf(result.current), order);
      return result.ok;
    },

    receive(message) {
      const { generation, accessToken, expiresAt, cause, sessionId } = message;
      if (accessToken === undefined || cause === undefined) {
        hinted = Math.max(hinted, generation);
        hintOrder = ++started;
        reread().catch(() => {}); // a hint: the next getAccessToken reads again and reports a failure
        return;
      }
      if (generation <= Math.max(memory?.generation ?? 0, hinted)) {
        reread().catch(() => {}); // a hint: the next getAccessToken reads again and reports a failure
        return;
      }
      const tokens = { accessToken, ...(expiresAt !== undefined && { expiresAt }) };
      // When it was stored is not announced: 0, "long ago", so an announced token never counts as
      // stored since a caller asked (decide's `asked`); the store's own record, read under the lock, does.
      const announced: StoredSession = { sessionKey, ...(sessionId !== undefined && { sessionId }), generation, state: 'active', cause, tokens, updatedAt: 0 };
      apply(announced, changeOf(announced), ++started);
      // Used at once, then confirmed off the callers' path: a token the store does not hold (a forged
      // announcement) is dropped after one read, not after a resource server refuses it.
      reread().catch(() => {});
    },

    onChange: watchers.add,

    close() {
      watchers.clear();
      channel.close();
      store.close();
    },
  };
}
