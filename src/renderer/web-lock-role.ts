import type { RolePort } from '../shared/ports.js';

/** Adds `listener`; returns the function that removes it. */
export function listen(target: EventTarget, type: string, listener: (event: Event) => void): () => void {
  target.addEventListener(type, listener);
  return () => target.removeEventListener(type, listener);
}

/** One request for the role: queued (withdrawable) or held (released by `release`). */
interface Claim {
  held: boolean;
  release: () => void;
  readonly withdraw: AbortController;
}

/**
 * The auto refresh role as a Web Lock, held by a callback that settles only when this
 * page gives the role up; the browser frees it when the page closes or crashes.
 * - A page that becomes hidden gives it up and queues again: a visible page waiting gets it
 *   (a hidden page's timers are throttled). A page that becomes (or opens) visible takes it
 *   (`steal`), so a hidden holder never keeps it from a visible page.
 * - `freeze` and `pagehide` into the back/forward cache give it up without queuing (a frozen
 *   page runs no timer, and a held lock keeps a page out of the cache); `resume` and
 *   `pageshow` ask again.
 */
export function createWebLockRole(locks: LockManager, page: Document | undefined): RolePort {
  const visible = (): boolean => page?.visibilityState === 'visible';
  return {
    hold(name, signal, onHeld) {
      let claim: Claim | undefined;
      let away = false;

      function ask(steal: boolean): void {
        if (signal.aborted || away || (claim && (claim.held || !steal))) return;
        claim?.withdraw.abort();
        const mine: Claim = { held: false, release: () => {}, withdraw: new AbortController() };
        claim = mine;
        // A steal is granted at once and cannot carry a signal; a queued request can be withdrawn.
        const options: LockOptions = steal ? { steal: true } : { signal: mine.withdraw.signal };
        locks
          .request(name, options, () => {
            if (claim !== mine) return Promise.resolve(); // replaced while queued: release at once
            return new Promise<void>((resolve) => {
              mine.held = true;
              mine.release = resolve;
              onHeld(true);
            });
          })
          .catch(() => {}) // withdrawn, or stolen by a page that became visible
          .finally(() => {
            if (mine.held) onHeld(false);
            mine.held = false;
            if (claim !== mine) return;
            claim = undefined;
            ask(false); // stolen: wait for the next turn
          });
      }

      function giveUp(): void {
        const given = claim;
        claim = undefined;
        given?.withdraw.abort();
        given?.release();
      }

      function setAway(on: boolean): void {
        away = on;
        if (on) giveUp();
        else ask(visible());
      }

      const stops = page
        ? [
            listen(page, 'visibilitychange', () => {
              if (visible()) return ask(true);
              if (!claim?.held) return;
              giveUp();
              ask(false);
            }),
            listen(page, 'freeze', () => setAway(true)),
            listen(page, 'resume', () => setAway(false)),
            listen(globalThis, 'pagehide', (event) => {
              if ((event as PageTransitionEvent).persisted) setAway(true);
            }),
            listen(globalThis, 'pageshow', (event) => {
              if ((event as PageTransitionEvent).persisted) setAway(false);
            }),
          ]
        : [];
      signal.addEventListener(
        'abort',
        () => {
          stops.forEach((stop) => stop());
          giveUp();
        },
        { once: true },
      );
      ask(visible());
    },
  };
}
