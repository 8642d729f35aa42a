import type { LockPort } from '../shared/ports.js';

/** The Web Locks API: exclusive, released by the browser when the holder's page closes or crashes. */
export function createWebLocks(locks: LockManager): LockPort {
  return {
    request(name, { signal }, callback) {
      return locks.request(name, signal ? { signal: signal as AbortSignal } : {}, callback);
    },
  };
}
