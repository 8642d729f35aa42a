/**
 * The small driver interface the conformance suite is written against, so that
 * the same tests run in Chromium (Playwright), Firefox (puppeteer-core over
 * WebDriver BiDi) and WebKit (selenium-webdriver attached to WebKitWebDriver).
 */

export type EngineName = 'chromium' | 'firefox' | 'webkit';

/** A function run in a window. It travels as source text: it may use only its argument and the page's globals. */
export type PageFunction<A, R> = (arg: A) => R | Promise<R>;

/** One top-level window (or tab) of a partition. */
export interface EngineWindow {
  /** Runs `fn(arg)` in the window and resolves to its (awaited, plain-data) result. Calls on different windows run concurrently. */
  evaluate<R, A = undefined>(fn: PageFunction<A, R>, arg?: A): Promise<R>;
  /** Resolves once `fn(arg)` is truthy in the window, polled there; rejects after `timeoutMs`. */
  waitFor<A>(fn: PageFunction<A, unknown>, arg: A, timeoutMs?: number): Promise<void>;
  /** Clicks the element `selector` names as a user would, and waits for the navigation the click may start. */
  click(selector: string): Promise<void>;
  /** Navigates this window to `url` and waits for its load event. */
  goto(url: string): Promise<void>;
  /** Goes one entry back in this window's history; the caller waits for what it expects there. */
  back(): Promise<void>;
  /** Closes the window as a user would: its Web Locks are released, its channels closed. */
  close(): Promise<void>;
}

/** Windows that share one storage partition: Web Locks, BroadcastChannel and IndexedDB. Fresh and empty when made. */
export interface Partition {
  open(url: string): Promise<EngineWindow>;
  close(): Promise<void>;
}

export interface Engine {
  readonly name: EngineName;
  /** The browser's own product and version string, e.g. `firefox/153.8.0`. */
  readonly version: string;
  partition(): Promise<Partition>;
  close(): Promise<void>;
}

export const DEFAULT_WAIT_MS = 20_000;

/**
 * One command at a time, in order: a WebDriver session has one current window,
 * so switching to a window and running a command in it must not interleave.
 */
export function createQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}
