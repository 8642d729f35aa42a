import type { ContestantName } from './options.js';
import type { EntrySize } from './size.js';

/** One access token expiry, as the server counted it and as the windows lived it. */
export interface CycleResult {
  /** The shared instant (epoch ms) for which every window scheduled its token request: just after the stored token expires. */
  readonly at: number;
  /** How long before `at` the last window was armed; negative if one was armed late. */
  readonly lastArmedBeforeMs: number;
  /** How long after `at` the last window actually started its request for a token. */
  readonly startSkewMs: number;
  /** From the server's own counters, for this cycle only. */
  readonly refreshRequests: number;
  readonly refreshSucceeded: number;
  readonly invalidGrant: number;
  readonly grantsRevoked: number;
  readonly maxConcurrentRefreshes: number;
  /** Windows whose library handed out an access token. */
  readonly windowsWithToken: number;
  /** Windows whose token the server's userinfo endpoint accepted, checked right after the cycle. */
  readonly windowsWorking: number;
  /** Failures as the windows reported them, by message. */
  readonly errors: Readonly<Record<string, number>>;
  /** From `at` until the last window held a token the server accepts; only when every window did. */
  readonly allFreshMs?: number;
  /** Duration of the first token request of the cycle, from the browser's resource timing. */
  readonly roundTripMs?: number;
  /** tokenherd: from the leader's stored write to the last window's `getToken` resolving with the new token. */
  readonly writeToLastWindowMs?: number;
  /** tokenherd: from the leader's stored write until the last other window had adopted it (its `adopted` event: a store read, or a token the announcement carried). */
  readonly writeToLastReadMs?: number;
  /** tokenherd: how many windows were granted the refresh lock (the leader, and any that got it before the announcement reached them). */
  readonly lockGrants?: number;
  /** tokenherd: from the expiry instant until the refresher's request left (its store read, the lock, the marker write). */
  readonly requestStartMs?: number;
  /** tokenherd: the refresher's own token request, from the browser's resource timing; `roundTripMs` is the first request of any window. */
  readonly refresherRoundTripMs?: number;
  /**
   * tokenherd: per window, from the refresher's server response (the end of its request) until that
   * window first held the new token in memory, whether or not it had asked yet; ascending, ms.
   */
  readonly responseToHeldMs?: readonly number[];
  /** tokenherd: from the expiry instant until every window held the new token in memory. */
  readonly allHeldMs?: number;
}

export interface HotPath {
  readonly calls: number;
  readonly callsPerSecond: number;
  readonly medianMicros: number;
  /** IndexedDB transactions opened while the hot path ran. */
  readonly idbTransactions: number;
}

/** The machine's floor for reaching every window, measured in the tokenherd run's windows. */
export interface Floor {
  /** From one window's BroadcastChannel post until the last other window received it, median ms. */
  readonly broadcastMs: number;
  /** The same until the last window had also completed one IndexedDB read, median ms. */
  readonly broadcastAndReadMs: number;
  readonly rounds: number;
}

export interface RunResult {
  readonly contestant: ContestantName;
  readonly windows: number;
  readonly cycles: readonly CycleResult[];
  /** JavaScript heap each window gained from loading its client until after the last cycle (after GC), KB. */
  readonly heapPerWindowKB: { readonly median: number; readonly max: number };
  /** tokenherd only: `getAccessToken` with a valid token in memory, in window 0. */
  readonly hotPath?: HotPath;
  /** tokenherd runs with more than one window. */
  readonly floor?: Floor;
  /** Set when the run of this contestant could not finish (the error), so later runs still happen. */
  readonly failure?: string;
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly chromium: string;
  /** One-minute load average when the run started: other work on the machine skews the timings. */
  readonly loadAverage: number;
}

export interface BenchReport {
  readonly command: string;
  readonly machine: Machine;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly options: { readonly windows: readonly number[]; readonly cycles: number; readonly ttlSeconds: number };
  readonly versions: Readonly<Record<string, string>>;
  readonly runs: readonly RunResult[];
  /** Minified + gzip bytes per package entry; absent with --skip-size. */
  readonly sizes?: readonly EntrySize[];
}

export const median = (values: readonly number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  return Number.isInteger(middle) ? (sorted[middle - 1]! + sorted[middle]!) / 2 : sorted[Math.floor(middle)]!;
};

export const max = (values: readonly number[]): number | undefined => (values.length === 0 ? undefined : Math.max(...values));

const defined = (values: ReadonlyArray<number | undefined>): number[] => values.filter((v): v is number => v !== undefined);

/** The figures of one run that the table, the plots and the targets use. */
export function summarize(run: RunResult) {
  const { cycles } = run;
  const allFresh = defined(cycles.map((c) => c.allFreshMs));
  const overhead = defined(cycles.map((c) => (c.allFreshMs !== undefined && c.roundTripMs !== undefined ? c.allFreshMs - c.roundTripMs : undefined)));
  const propagation = defined(cycles.map((c) => c.writeToLastWindowMs));
  const responseToLast = defined(cycles.map((c) => c.responseToHeldMs?.at(-1)));
  const heldExcess = defined(cycles.map((c) => (c.allHeldMs !== undefined && c.refresherRoundTripMs !== undefined ? c.allHeldMs - c.refresherRoundTripMs : undefined)));
  const sum = (pick: (c: CycleResult) => number): number => cycles.reduce((total, c) => total + pick(c), 0);
  return {
    requestsPerExpiry: cycles.length === 0 ? undefined : sum((c) => c.refreshRequests) / cycles.length,
    maxRequestsPerExpiry: max(cycles.map((c) => c.refreshRequests)),
    invalidGrant: sum((c) => c.invalidGrant),
    grantsRevoked: sum((c) => c.grantsRevoked),
    /** Windows holding a working token after the last expiry. */
    workingAfterLast: cycles.at(-1)?.windowsWorking ?? 0,
    /** Fewest windows holding a working token after any expiry. */
    fewestWorking: Math.min(...cycles.map((c) => c.windowsWorking)),
    allFreshCycles: allFresh.length,
    allFreshMedianMs: median(allFresh),
    allFreshMaxMs: max(allFresh),
    roundTripMedianMs: median(defined(cycles.map((c) => c.roundTripMs))),
    overheadMedianMs: median(overhead),
    overheadMaxMs: max(overhead),
    startSkewMedianMs: median(cycles.map((c) => c.startSkewMs)),
    startSkewMaxMs: max(cycles.map((c) => c.startSkewMs)),
    lastReadMedianMs: median(defined(cycles.map((c) => c.writeToLastReadMs))),
    lockGrantsMedian: median(defined(cycles.map((c) => c.lockGrants))),
    propagationMedianMs: median(propagation),
    propagationMaxMs: max(propagation),
    requestStartMedianMs: median(defined(cycles.map((c) => c.requestStartMs))),
    refresherRoundTripMedianMs: median(defined(cycles.map((c) => c.refresherRoundTripMs))),
    /** Per expiry, the last window's time from the server response to holding the token. */
    responseToLastMedianMs: median(responseToLast),
    responseToLastMaxMs: max(responseToLast),
    /** Per expiry, the median window's; then the median over expiries. */
    responseToMedianWindowMs: median(defined(cycles.map((c) => (c.responseToHeldMs ? median(c.responseToHeldMs) : undefined)))),
    /** Every window holding the token, after the expiry instant, minus the refresher's round trip: the target's "excess". */
    heldExcessMs: heldExcess,
    heldExcessMedianMs: median(heldExcess),
    heldExcessMaxMs: max(heldExcess),
  };
}

export type RunSummary = ReturnType<typeof summarize>;
