import { onAbort, type AbortSignalLike } from '../shared/abort.js';
import type { LockPort } from '../shared/ports.js';

interface Waiter {
  readonly callback: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  readonly stopAbort: () => void;
}

interface Queue {
  readonly waiters: Waiter[];
  /** Set while this process requests or holds the cross-process lock for the queue. */
  inner?: AbortController | undefined;
}

/**
 * The in-process single flight in front of a cross-process lock: callers in this
 * process queue here (FIFO), and only the head of each name's queue contends for
 * `inner`. Once granted, the cross-process lock is handed from one local waiter to
 * the next without being released, so many coordinators of one key in one process
 * cost one cross-process acquisition; each waiter re-reads the store under the
 * lock, so a waiter handed the lock after a refresh finds the new token and
 * returns at once. A waiter whose signal aborts leaves the queue; when the queue
 * empties before the grant, the cross-process request is withdrawn.
 */
export function createProcessLocks(inner: LockPort): LockPort {
  const queues = new Map<string, Queue>();

  function pump(name: string, queue: Queue): void {
    if (queue.inner !== undefined || queue.waiters.length === 0) return;
    const withdraw = new AbortController();
    queue.inner = withdraw;
    inner
      .request(name, { signal: withdraw.signal }, async () => {
        for (let waiter = queue.waiters.shift(); waiter; waiter = queue.waiters.shift()) {
          waiter.stopAbort();
          try {
            waiter.resolve(await waiter.callback());
          } catch (error) {
            waiter.reject(error);
          }
        }
      })
      .catch((error: unknown) => {
        // Not granted: withdrawn because nobody waits any more, or the lock itself failed (every waiter is told).
        if (withdraw.signal.aborted) return;
        for (const waiter of queue.waiters.splice(0)) {
          waiter.stopAbort();
          waiter.reject(error);
        }
      })
      .finally(() => {
        queue.inner = undefined;
        if (queue.waiters.length > 0) pump(name, queue);
        else if (queues.get(name) === queue) queues.delete(name);
      });
  }

  return {
    request<T>(name: string, { signal }: { signal?: AbortSignalLike }, callback: () => Promise<T>): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<T>((resolve, reject) => {
        let queue = queues.get(name);
        if (!queue) {
          queue = { waiters: [] };
          queues.set(name, queue);
        }
        const current = queue;
        const waiter: Waiter = {
          callback,
          resolve: resolve as (value: unknown) => void,
          reject,
          stopAbort: onAbort(signal, (reason) => {
            const index = current.waiters.indexOf(waiter);
            if (index < 0) return; // already running: the lock is granted
            current.waiters.splice(index, 1);
            reject(reason);
            if (current.waiters.length === 0) current.inner?.abort();
          }),
        };
        current.waiters.push(waiter);
        pump(name, current);
      });
    },
  };
}
