/**
 * BroadcastChannel messages. A message is a hint, never a source of truth: it
 * names a session key and the generation now stored, and carries no token at
 * all. Receivers re-read the store, so a forged message can at most cause one
 * extra read; it can never replace a token or sign a window out.
 */
export const MESSAGE_VERSION = 1;

export interface SessionChangedMessage {
  readonly v: typeof MESSAGE_VERSION;
  readonly type: 'session-changed';
  readonly sessionKey: string;
  readonly generation: number;
}

const KEYS = ['v', 'type', 'sessionKey', 'generation'];
export const MAX_SESSION_KEY_LENGTH = 256;

export function sessionChanged(sessionKey: string, generation: number): SessionChangedMessage {
  return { v: MESSAGE_VERSION, type: 'session-changed', sessionKey, generation };
}

/** Accepts exactly the current message shape: no missing, extra or mistyped fields. */
export function parseMessage(data: unknown): SessionChangedMessage | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const keys = Object.keys(data);
  if (keys.length !== KEYS.length || !keys.every((k) => KEYS.includes(k))) return undefined;
  const { v, type, sessionKey, generation } = data as Record<string, unknown>;
  if (v !== MESSAGE_VERSION || type !== 'session-changed') return undefined;
  if (typeof sessionKey !== 'string' || sessionKey.length === 0 || sessionKey.length > MAX_SESSION_KEY_LENGTH) return undefined;
  if (!Number.isSafeInteger(generation) || (generation as number) < 0) return undefined;
  return { v, type, sessionKey, generation: generation as number };
}
