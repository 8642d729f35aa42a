import { MAX_EXPIRES_IN_SECONDS, MAX_TOKEN_LENGTH, type StoredSession } from './session.js';

/**
 * Channel messages. The refresher announces what it has just stored: the
 * generation and, for an active session, the access token, its expiry and why it
 * changed, so that receivers can use it without reading the store. Never the
 * refresh token: that stays in the store and the refresher.
 *
 * A message without an access token is a hint (a sign-out, an expiry, or a channel
 * that must carry no token, such as a database notification): receivers re-read
 * the store. The store stays the truth: a receiver whose token is refused, or who
 * doubts a message, re-reads it.
 */
export const MESSAGE_VERSION = 2;
/** The longest session key: it names a lock, a channel and a stored record. */
export const MAX_SESSION_KEY_LENGTH = 256;

/**
 * I4: what crosses the channel when a session changes: its key, generation and, for an
 * active session, the access token and its expiry. Never the refresh token.
 */
export interface SessionChangedMessage {
  readonly v: typeof MESSAGE_VERSION;
  readonly type: 'session-changed';
  readonly sessionKey: string;
  /** The generation now stored. */
  readonly generation: number;
  /** Present only with `accessToken`. */
  readonly cause?: 'signed-in' | 'rotated';
  readonly accessToken?: string;
  /** Local-clock expiry of `accessToken`; every window of one machine shares the clock. */
  readonly expiresAt?: number;
}

/** What a window announces after its compare-and-set stored `record`. */
export function announcementOf(record: StoredSession): SessionChangedMessage {
  const hint = { v: MESSAGE_VERSION, type: 'session-changed', sessionKey: record.sessionKey, generation: record.generation } as const;
  if (record.state !== 'active') return hint;
  const { accessToken, expiresAt } = record.tokens;
  return { ...hint, cause: record.cause, accessToken, ...(expiresAt !== undefined && { expiresAt }) };
}

/** The message without its token, for channels that must carry none (a database notification, a file notice). */
export function toHint({ v, type, sessionKey, generation }: SessionChangedMessage): SessionChangedMessage {
  return { v, type, sessionKey, generation };
}

const HINT_KEYS = ['v', 'type', 'sessionKey', 'generation'];
const TOKEN_KEYS = ['cause', 'accessToken', 'expiresAt'];

/**
 * Accepts exactly the current message shape: no missing, extra, mistyped or
 * oversized fields, and no expiry further than a token response may give from
 * `now`. Anything else is undefined: ignored.
 */
export function parseMessage(data: unknown, now: number): SessionChangedMessage | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const keys = Object.keys(data);
  if (!keys.every((k) => HINT_KEYS.includes(k) || TOKEN_KEYS.includes(k)) || !HINT_KEYS.every((k) => keys.includes(k))) return undefined;
  const { v, type, sessionKey, generation, cause, accessToken, expiresAt } = data as Record<string, unknown>;
  if (v !== MESSAGE_VERSION || type !== 'session-changed') return undefined;
  if (typeof sessionKey !== 'string' || sessionKey.length === 0 || sessionKey.length > MAX_SESSION_KEY_LENGTH) return undefined;
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) return undefined;
  const hint = { v, type, sessionKey, generation: generation as number } as const;
  if (keys.length === HINT_KEYS.length) return hint;
  if (hint.generation < 1 || (cause !== 'signed-in' && cause !== 'rotated')) return undefined;
  if (typeof accessToken !== 'string' || accessToken.length === 0 || accessToken.length > MAX_TOKEN_LENGTH) return undefined;
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt > now + MAX_EXPIRES_IN_SECONDS * 1000)) {
    return undefined;
  }
  return { ...hint, cause, accessToken, ...(expiresAt !== undefined && { expiresAt }) };
}
