/**
 * The slice of AbortController/AbortSignal the core needs. AbortController is a
 * universal runtime global (browsers, workers, Node), not a DOM API, but the
 * core's lib is plain ES2022, so it is reached through a structural type.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The slice of AbortController the core needs. */
export interface AbortControllerLike {
  readonly signal: AbortSignalLike;
  abort(reason?: unknown): void;
}

const AbortControllerImpl = (globalThis as unknown as { AbortController: new () => AbortControllerLike })
  .AbortController;

/** A new AbortController of the runtime, typed by the core's slice of it. */
export function createAbortController(): AbortControllerLike {
  return new AbortControllerImpl();
}

/** Whether `value` has the shape of an AbortSignal (checked before anything waits on it). */
export function isAbortSignal(value: unknown): value is AbortSignalLike {
  if (typeof value !== 'object' || value === null) return false;
  const signal = value as Partial<Record<keyof AbortSignalLike, unknown>>;
  return typeof signal.aborted === 'boolean' && typeof signal.addEventListener === 'function' && typeof signal.removeEventListener === 'function';
}

/** Runs `onAbort` once when `signal` aborts (at once if it already has); returns the disposer. */
export function onAbort(signal: AbortSignalLike | undefined, onAbort: (reason: unknown) => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    onAbort(signal.reason);
    return () => {};
  }
  const listener = (): void => onAbort(signal.reason);
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** Resolves after `ms` on `clock`; rejects with the signal's reason as soon as `signal` aborts. */
export function sleep(clock: { setTimeout(callback: () => void, ms: number): unknown; clearTimeout(handle: unknown): void }, ms: number, signal?: AbortSignalLike): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      stop();
      resolve();
    }, ms);
    const stop = onAbort(signal, (reason) => {
      clock.clearTimeout(timer);
      reject(reason);
    });
  });
}
