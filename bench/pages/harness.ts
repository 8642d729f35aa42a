import * as oauth from 'oauth4webapi';

/** What the runner passes every window in the query string. */
export interface PageConfig {
  readonly issuer: string;
  readonly clientId: string;
  /** The authorization server's metadata, discovered once in `discover`, as a signed-in app already has it. */
  readonly as: oauth.AuthorizationServer;
}

/** One library under test, as one window of an app uses it. */
export interface Contestant {
  /** Creates the library's client in this window. */
  init(config: PageConfig): Promise<void>;
  /** Stores a sign-in's token response the way this library keeps a session (one window does it for all). */
  signIn(tokenResponse: Record<string, unknown>): Promise<void>;
  /** What the app does when it needs an access token. */
  getToken(): Promise<string>;
  /** Local-clock expiry (ms) of the access token this window would use now; undefined when it has none. */
  expiresAt(): Promise<number | undefined>;
}

export type TokenResult =
  | { readonly ok: true; readonly token: string; readonly startedAt: number; readonly doneAt: number }
  | { readonly ok: false; readonly error: string; readonly startedAt: number; readonly doneAt: number };

/** A token endpoint request as the browser's resource timing saw it, in epoch milliseconds. */
export interface RequestTiming {
  readonly start: number;
  readonly end: number;
}

/**
 * The handle the runner drives through `page.evaluate` (window.ts publishes it as `window.bench`).
 * Times are `Date.now()` readings: every window shares the machine's clock, so they compare across windows.
 */
export function createBench<Extra extends object>(contestant: Contestant, extra: Extra) {
  const params = new URLSearchParams(location.search);
  const issuer = params.get('issuer') ?? '';
  const clientId = params.get('client_id') ?? '';
  let armed: Promise<TokenResult> | undefined;
  performance.setResourceTimingBufferSize(10_000);

  async function run(): Promise<TokenResult> {
    const startedAt = Date.now();
    try {
      const token = await contestant.getToken();
      return { ok: true, token, startedAt, doneAt: Date.now() };
    } catch (error) {
      return { ok: false, error: describe(error), startedAt, doneAt: Date.now() };
    }
  }

  let config: PageConfig | undefined;
  let probeChannel: BroadcastChannel | undefined;
  /** Per probe id: when this window received the probe message, and when its IndexedDB read after it completed. */
  const probes = new Map<number, { received: number; read: number }>();
  const probeWaiters = new Map<number, () => void>();

  const handle = {
    /** Discovery, as the app did at sign-in; kept apart from `create` so the heap the library adds can be measured between them. */
    async discover(): Promise<void> {
      const url = new URL(issuer);
      const as = await oauth.processDiscoveryResponse(url, await oauth.discoveryRequest(url, { [oauth.allowInsecureRequests]: true }));
      config = { issuer, clientId, as };
    },
    async create(): Promise<void> {
      if (config === undefined) throw new Error('discover() first');
      await contestant.init(config);
    },
    signIn: (tokenResponse: Record<string, unknown>) => contestant.signIn(tokenResponse),
    expiresAt: () => contestant.expiresAt(),
    /** Resolves once this window's library holds a session expiring at `expected`. */
    async waitForExpiry(expected: number, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await contestant.expiresAt()) === expected) return true;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    },
    /** Schedules one `getToken` at wall-clock time `at`, as an app's timer for the expiry instant would; returns when it was armed. */
    arm(at: number): number {
      const now = Date.now();
      armed = new Promise((resolve) => setTimeout(() => resolve(run()), Math.max(0, at - now)));
      return now;
    },
    result: (): Promise<TokenResult> | undefined => armed,
    /** Token endpoint requests that started at or after `since`. */
    tokenRequests(since: number, tokenEndpoint: string): RequestTiming[] {
      return performance
        .getEntriesByType('resource')
        .filter((entry): entry is PerformanceResourceTiming => entry.name === tokenEndpoint)
        .map((entry) => ({ start: performance.timeOrigin + entry.startTime, end: performance.timeOrigin + entry.responseEnd }))
        .filter((timing) => timing.start >= since);
    },
    /**
     * The machine's floor for telling every window something: on each probe message, a window
     * notes the time and does one IndexedDB read, as a window that re-reads a stored session would.
     */
    async listenForProbes(): Promise<void> {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open('bench-probe', 1);
        request.onupgradeneeded = () => request.result.createObjectStore('records');
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      probeChannel = new BroadcastChannel('bench-probe');
      probeChannel.onmessage = (event: MessageEvent<number>) => {
        const received = Date.now();
        const read = db.transaction('records', 'readonly').objectStore('records').get('session');
        read.onsuccess = () => {
          probes.set(event.data, { received, read: Date.now() });
          probeWaiters.get(event.data)?.();
        };
      };
    },
    /** Returns the time read just before posting: a receiver may note its own before this call returns. */
    sendProbe(id: number): number {
      probeChannel ??= new BroadcastChannel('bench-probe');
      const sent = Date.now();
      probeChannel.postMessage(id);
      return sent;
    },
    /** This window's timings for probe `id`, once it has them; undefined if they are not there within `timeoutMs`. */
    probeResult(id: number, timeoutMs: number): Promise<{ received: number; read: number } | undefined> {
      if (probes.has(id)) return Promise.resolve(probes.get(id));
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          probeWaiters.delete(id);
          resolve(undefined);
        }, timeoutMs);
        probeWaiters.set(id, () => {
          clearTimeout(timer);
          probeWaiters.delete(id);
          resolve(probes.get(id));
        });
      });
    },
    ...extra,
  };
  return handle;
}

/** Error codes survive minification where class names do not: an OAuth error's `error`, else tokenherd's or oauth4webapi's `code`. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, error: oauthError } = error as { code?: unknown; error?: unknown };
  const label = typeof oauthError === 'string' ? oauthError : typeof code === 'string' ? code : error.name;
  return `${label}: ${error.message}`;
}

export type BenchHandle<Extra extends object = object> = ReturnType<typeof createBench<Extra>>;
