import { createAbortController, onAbort } from './abort.js';
import type { Need } from './decide.js';
import { ErrorCode, TokenHerdError } from './errors.js';
import type { TokenHerdEvent } from './events.js';
import type { Lifetime } from './lifetime.js';
import type { Clock, LockPort } from './ports.js';
import type { Look } from './refresh.js';
import type { SessionView } from './session-view.js';

/** What the lock wait runs on. */
export interface LockWaitPorts {
  readonly lock: LockPort;
  /** The session's lock name, the same in all windows. */
  readonly name: string;
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly lifetime: Lifetime;
  readonly view: SessionView;
  readonly look: Look;
  readonly emit: (event: TokenHerdEvent) => void;
}

/** A window's place in the queue for the session's refresh lock. */
export interface LockWait {
  /**
   * I1: runs `work` holding the session's lock. The wait is bounded by `timeoutMs`
   * (LOCK_TIMEOUT), and left as soon as an announcement or a read makes what this
   * window holds serve `need`: a window that another refresher served never takes the lock.
   */
  run(need: Need, work: (need: Need) => Promise<string>): Promise<string>;
  /** Whether this window holds the lock now. */
  holds(): boolean;
}

/** A window's lock wait. */
export function createLockWait({ lock, name, timeoutMs, clock, lifetime, view, look, emit }: LockWaitPorts): LockWait {
  let holding = false;
  return {
    holds: () => holding,
    run(need, work) {
      return new Promise((resolve, reject) => {
        const wait = createAbortController();
        const requested = clock.now();
        let settled = false;
        const settle = (outcome: { token: string } | { error: unknown }): void => {
          if (settled) return;
          settled = true;
          stopWaiting();
          wait.abort();
          if ('token' in outcome) resolve(outcome.token);
          else reject(lifetime.closed() ? lifetime.closedError() : outcome.error);
        };
        const timer = clock.setTimeout(
          () => settle({ error: new TokenHerdError(ErrorCode.LOCK_TIMEOUT, `The refresh lock was not granted within ${timeoutMs} ms; the session is kept`) }),
          timeoutMs,
        );
        const stopClose = onAbort(lifetime.signal, () => settle({ error: lifetime.closedError() }));
        const stopWatching = view.onChange(() => {
          const decision = look('store', view.current(), need);
          if (decision.do === 'use') settle({ token: decision.token });
          else if (decision.do === 'fail') settle({ error: new TokenHerdError(decision.code, decision.reason) });
        });
        function stopWaiting(): void {
          clock.clearTimeout(timer);
          stopClose();
          stopWatching();
        }
        lock
          .request(name, { signal: wait.signal }, async () => {
            if (settled) return; // granted as this window left the queue: release at once
            stopWaiting();
            holding = true;
            emit({ type: 'lock-acquired', waitedMs: clock.now() - requested });
            try {
              settle({ token: await work(need) });
            } catch (failure) {
              settle({ error: failure });
            } finally {
              holding = false;
              emit({ type: 'lock-released' });
            }
          })
          .catch((failure: unknown) => settle({ error: failure }));
      });
    },
  };
}
