/** What bench/node.ts and its replica processes (bench/node-worker.ts) say to each other. */
export type Contestant = 'tokenherd' | 'naive' | 'single-flight';

export interface NodeWorkerConfig {
  readonly contestant: Contestant;
  readonly url: string;
  readonly sessionKey: string;
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  readonly leewaySeconds: number;
}

export type NodeWorkerRequest =
  | { readonly type: 'burst'; readonly id: number; readonly callers: number; readonly at: number }
  | { readonly type: 'latency'; readonly id: number; readonly samples: number }
  | { readonly type: 'close' };

export type NodeWorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'burst-done'; readonly id: number; readonly ok: number; readonly failed: number; readonly errors: string[] }
  | { readonly type: 'latency-done'; readonly id: number; readonly micros: number[] };

/** The hand-written table of the baselines: one row per user. */
export const BASELINE_TABLE = 'bench_tokens';
