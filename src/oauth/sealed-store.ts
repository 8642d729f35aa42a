import { ErrorCode, errorCodeOf } from '../shared/errors.js';
import type { CompareAndSetResult, SessionStore, StoredSession } from '../shared/index.js';
import { MAX_TOKEN_LENGTH } from '../shared/session.js';

/**
 * Encrypts and decrypts strings with a key the page never holds (in Electron:
 * the OS keychain, through the main process). Sealing is not deterministic: the
 * same text seals to a different string every time, so nothing may ever
 * compare sealed strings.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 (refresh token protection)
 */
export interface Sealer {
  seal(text: string): Promise<string>;
  /**
   * Rejects with an error whose `code` is `UNSEAL_FAILED` or `SEALING_UNAVAILABLE`
   * when the value can never be opened here (sealed under another user's or
   * machine's key, or no keychain); any other rejection is taken as transient.
   */
  unseal(sealed: string): Promise<string>;
}

/** Options of `createSealedStore`: who is told when a refresh token was stored unsealed or a sealed one dropped. */
export interface SealedStoreOptions {
  /**
   * Called when a refresh token had to be stored in plaintext because sealing
   * failed, or when a sealed one could not be opened and was dropped.
   */
  readonly onSealingProblem?: (problem: { readonly kind: 'stored-plaintext' | 'dropped-sealed-token'; readonly reason: string }) => void;
}

/** Marks a sealed refresh token inside an otherwise ordinary stored record. */
export const SEALED_PREFIX = 'tokenherd-sealed:v1:';

const PERMANENT = new Set<string>([ErrorCode.UNSEAL_FAILED, ErrorCode.SEALING_UNAVAILABLE]);
const CACHE_SIZE = 8;

/**
 * A SessionStore that keeps `tokens.refreshToken` sealed at rest and hands the
 * coordinator plaintext. The record stays a valid StoredSession (the sealed
 * token is a prefixed string), so compare-and-set keeps comparing generations,
 * exactly as before, and never ciphertexts.
 *
 * Sealing is a round trip to another process, and an IndexedDB transaction
 * auto-commits while it waits for anything that is not IndexedDB; so this store
 * seals before the inner compare-and-set opens its transaction, and unseals
 * after the inner read's transaction has finished.
 *
 * Failure policy, chosen so that a rotated token is never lost:
 * - sealing fails (keychain unavailable, IPC failure, sealed value too long):
 *   the refresh token is stored in plaintext this once, and reported;
 * - unsealing fails for good (`UNSEAL_FAILED`, `SEALING_UNAVAILABLE`): the record
 *   is returned without its refresh token, so the access token is used until it
 *   expires and then the session ends with SESSION_EXPIRED, as for a profile
 *   copied to another machine;
 * - unsealing fails otherwise: the read rejects, which the coordinator reports
 *   as TRANSIENT and which keeps the session.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 (refresh token protection)
 */
export function createSealedStore(inner: SessionStore, sealer: Sealer, options: SealedStoreOptions = {}): SessionStore {
  // sealed -> plaintext of recent values, so repeated reads of one record cost one round trip.
  const opened = new Map<string, string>();

  function remember(sealed: string, text: string): void {
    opened.delete(sealed);
    opened.set(sealed, text);
    if (opened.size > CACHE_SIZE) opened.delete(opened.keys().next().value as string);
  }

  async function sealRecord(record: StoredSession): Promise<StoredSession> {
    if (record.state !== 'active' || record.tokens.refreshToken === undefined) return record;
    const { refreshToken } = record.tokens;
    let stored: string;
    try {
      stored = SEALED_PREFIX + (await sealer.seal(refreshToken));
    } catch (error) {
      options.onSealingProblem?.({ kind: 'stored-plaintext', reason: `sealing failed: ${describe(error)}` });
      return record;
    }
    if (stored.length > MAX_TOKEN_LENGTH) {
      // The store would refuse the record on read; plaintext beats losing a rotated token.
      options.onSealingProblem?.({ kind: 'stored-plaintext', reason: `the sealed refresh token is longer than ${MAX_TOKEN_LENGTH} characters` });
      return record;
    }
    remember(stored, refreshToken);
    return { ...record, tokens: { ...record.tokens, refreshToken: stored } };
  }

  async function openRecord(record: StoredSession | undefined): Promise<StoredSession | undefined> {
    if (record?.state !== 'active') return record;
    const { refreshToken, ...rest } = record.tokens;
    if (refreshToken === undefined || !refreshToken.startsWith(SEALED_PREFIX)) return record; // stored before sealing: read as is
    const known = opened.get(refreshToken);
    if (known !== undefined) return { ...record, tokens: { ...rest, refreshToken: known } };
    try {
      const text = await sealer.unseal(refreshToken.slice(SEALED_PREFIX.length));
      remember(refreshToken, text);
      return { ...record, tokens: { ...rest, refreshToken: text } };
    } catch (error) {
      if (!PERMANENT.has(errorCodeOf(error) ?? '')) throw error;
      options.onSealingProblem?.({ kind: 'dropped-sealed-token', reason: describe(error) });
      return { ...record, tokens: rest };
    }
  }

  return {
    async read(sessionKey) {
      return openRecord(await inner.read(sessionKey));
    },
    async compareAndSet(sessionKey, expected, next): Promise<CompareAndSetResult> {
      const sealed = await sealRecord(next);
      const result = await inner.compareAndSet(sessionKey, expected, sealed);
      return result.ok ? result : { ok: false, current: await openRecord(result.current) };
    },
    close() {
      opened.clear();
      inner.close();
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
