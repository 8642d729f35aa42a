import { MAX_EXPIRES_IN_SECONDS, MAX_SESSION_ID_LENGTH, MAX_TOKEN_LENGTH, type StoredSession } from './session.js';

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

/** A token-free notice: `sessionKey` now stores `generation`. Receivers re-read the store. */
export interface SessionHint {
  readonly sessionKey: string;
  readonly generation: number;
}

/**
 * I4: what a coordinator posts on its channel after a compare-and-set: a hint, or an
 * announcement with the access token and its expiry. Never the refresh token.
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
  /** The stored record's session id, with `accessToken` (absent for records of tokenherd 0.1). */
  readonly sessionId?: string;
}

/** What a window announces after its compare-and-set stored `record`. */
export function announcementOf(record: StoredSession): SessionChangedMessage {
  const hint = hintOf(record);
  if (record.state !== 'active') return hint;
  const { accessToken, expiresAt } = record.tokens;
  const { sessionId } = record;
  return { ...hint, cause: record.cause, accessToken, ...(expiresAt !== undefined && { expiresAt }), ...(sessionId !== undefined && { sessionId }) };
}

/**
 * The hint message of `hint` (a stored record, a message, a notice), without any token:
 * what channels that must carry none send (a database notification, a file notice).
 */
export function hintOf({ sessionKey, generation }: SessionHint): SessionChangedMessage {
  return { v: MESSAGE_VERSION, type: 'session-changed', sessionKey, generation };
}

const HINT_KEYS = ['v', 'type', 'sessionKey', 'generation'];
const TOKEN_KEYS = ['cause', 'accessToken', 'expiresAt', 'sessionId'];

/**
 * Accepts exactly the current message shape: no missing, extra, mistyped or
 * oversized fields, and no expiry further than a token response may give from
 * `now`. Anything else is undefined: ignored.
 */
export function parseMessage(data: unknown, now: number): SessionChangedMessage | undefined {
  // A port that does not clone (Node's notice ports, a custom one) may hand over a Proxy or an
  // object with throwing getters: such a message is malformed, never an exception in a listener.
  try {
    return parseFields(data, now);
  } catch {
    return undefined;
  }
}

/** `parseMessage` on data whose every field is read exactly once. */
function parseFields(data: unknown, now: number): SessionChangedMessage | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const keys = Object.keys(data);
  if (!keys.every((k) => HINT_KEYS.includes(k) || TOKEN_KEYS.includes(k)) || !HINT_KEYS.every((k) => keys.includes(k))) return undefined;
  const { v, type, sessionKey, generation, cause, accessToken, expiresAt, sessionId } = data as Record<string, unknown>;
  if (v !== MESSAGE_VERSION || type !== 'session-changed') return undefined;
  if (typeof sessionKey !== 'string' || sessionKey.length === 0 || sessionKey.length > MAX_SESSION_KEY_LENGTH) return undefined;
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) return undefined;
  const hint = hintOf({ sessionKey, generation: generation as number });
  if (keys.length === HINT_KEYS.length) return hint;
  if (hint.generation < 1 || (cause !== 'signed-in' && cause !== 'rotated')) return undefined;
  if (typeof accessToken !== 'string' || accessToken.length === 0 || accessToken.length > MAX_TOKEN_LENGTH) return undefined;
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt > now + MAX_EXPIRES_IN_SECONDS * 1000)) {
    return undefined;
  }
  if (sessionId !== undefined && (typeof sessionId !== 'string' || sessionId.length === 0 || sessionId.length > MAX_SESSION_ID_LENGTH)) return undefined;
  return { ...hint, cause, accessToken, ...(expiresAt !== undefined && { expiresAt }), ...(sessionId !== undefined && { sessionId }) };
}

/**
 * The hint of `data` if it is a valid message (see `parseMessage`); an announcement's
 * token is dropped. The one check a hint gets between a wire and a coordinator.
 */
export function parseHint(data: unknown, now: number): SessionHint | undefined {
  const message = parseMessage(data, now);
  return message && { sessionKey: message.sessionKey, generation: message.generation };
}
