import { createAbortController, sleep, type AbortSignalLike } from './abort.js';
import { ErrorCode, TokenHerdError } from './errors.js';
import type { Clock } from './ports.js';

/**
 * A coordinator's life in one window: everything it waits for (lock requests,
 * timers, requests) listens to `signal`, so `close()` ends all of it, and every
 * wait cut short by it rejects with CLOSED.
 */
export interface Lifetime {
  readonly signal: AbortSignalLike;
  closed(): boolean;
  closedError(): TokenHerdError;
  /** Resolves after `ms` on `clock`; rejects with CLOSED at once when the lifetime ends. */
  sleep(ms: number): Promise<void>;
  /** Ends the lifetime; returns false if it had already ended. */
  end(): boolean;
}

/** A lifetime whose `sleep` runs on `clock`. */
export function createLifetime(clock: Clock): Lifetime {
  const controller = createAbortController();
  const closedError = (): TokenHerdError => new TokenHerdError(ErrorCode.CLOSED, 'The token coordinator is closed');
  return {
    signal: controller.signal,
    closed: () => controller.signal.aborted,
    closedError,
    sleep: (ms) => sleep(clock, ms, controller.signal),
    end() {
      if (controller.signal.aborted) return false;
      controller.abort(closedError());
      return true;
    },
  };
}
