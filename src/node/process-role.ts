import { onAbort } from '../shared/abort.js';
import type { LockPort, RolePort } from '../shared/ports.js';

/** How a waiting process asks for the role: a short try, then a pause. */
export interface ProcessRoleTiming {
  /** How long one try waits for the lock before it withdraws. Default 50. */
  readonly tryMs?: number;
  /** Between two tries. Default 1 000. */
  readonly everyMs?: number;
}

/**
 * The auto refresh role of a process on the backend's lock (a lock file, or a PostgreSQL
 * advisory lock held in a transaction), held by a callback that settles when the
 * coordinator closes. A process that dies frees it as it frees a refresh lock: the
 * connection ends (PostgreSQL) or the lock goes stale (files). A waiting process does not
 * queue for it (a file lock polls every few milliseconds, a PostgreSQL wait holds a pooled
 * connection): it tries for `tryMs` every `everyMs`. Meanwhile the other processes watch
 * the schedule (see scheduler.ts), so a holder that died mid-plan costs no expiry.
 */
export function createProcessRole(lock: LockPort, { tryMs = 50, everyMs = 1_000 }: ProcessRoleTiming = {}): RolePort {
  return {
    hold(name, signal, onHeld) {
      let pause: ReturnType<typeof setTimeout> | undefined;
      const stopPause = onAbort(signal, () => clearTimeout(pause));
      const attempt = (): void => {
        if (signal.aborted) return stopPause();
        const trying = new AbortController();
        const giveUp = setTimeout(() => trying.abort(new Error('the role is held elsewhere')), tryMs);
        let held = false;
        lock
          .request(name, { signal: trying.signal }, () => {
            clearTimeout(giveUp);
            held = true;
            onHeld(true);
            return new Promise<void>((resolve) => onAbort(signal, () => resolve()));
          })
          .catch(() => {}) // not granted within the try, or the lock failed: try again later
          .finally(() => {
            clearTimeout(giveUp);
            if (held) onHeld(false);
            if (!signal.aborted) pause = setTimeout(attempt, everyMs);
          });
      };
      attempt();
    },
  };
}
