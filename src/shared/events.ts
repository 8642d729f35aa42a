import type { ErrorCode } from './errors.js';

/**
 * What happened to the session, as this window learned it:
 * - `signed-in`: a sign-in stored a new session (here or in another window);
 * - `rotated`: this window refreshed and stored the rotated tokens;
 * - `adopted`: this window took over tokens that another party rotated;
 * - `signed-out`: a sign-out (here or elsewhere), or the stored session vanished (storage cleared);
 * - `expired`: the provider rejected the refresh token and no newer session was stored.
 */
export type SessionChange = 'signed-in' | 'rotated' | 'adopted' | 'signed-out' | 'expired';

/**
 * What a coordinator reports to `subscribe`d listeners. `refresh-failed` follows only a
 * `refresh-started` of the same window; `session-changed` only a change of what the window holds.
 */
export type TokenHerdEvent =
  | {
      readonly type: 'session-changed';
      readonly change: SessionChange;
      readonly generation: number;
      /** Local-clock expiry of the access token now held, if any. */
      readonly expiresAt?: number;
    }
  /**
   * Reported once per coordinator, when it stores such a token: the access tokens live no longer than the
   * refresh leeway, so every call would find its token "about to expire". Each caller gets
   * the freshest token instead (one request per round of calls, not one per caller);
   * lower `refreshLeewaySeconds` below the lifetime.
   */
  | { readonly type: 'leeway-exceeds-lifetime'; readonly leewaySeconds: number; readonly lifetimeSeconds: number }
  | { readonly type: 'lock-acquired'; readonly waitedMs: number }
  | { readonly type: 'lock-released' }
  | { readonly type: 'refresh-started'; readonly generation: number; readonly attempt: number }
  | { readonly type: 'refresh-succeeded'; readonly generation: number; readonly durationMs: number }
  | {
      readonly type: 'refresh-failed';
      readonly code: ErrorCode;
      readonly reason: string;
      /** True when the coordinator retries on its own after a backoff. */
      readonly willRetry: boolean;
    };

/** A listener of `subscribe`; one that throws is reported and does not stop the others. */
export type TokenHerdListener = (event: TokenHerdEvent) => void;
