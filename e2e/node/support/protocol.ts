import type { ProviderProfile } from '../../../src/node/index.js';

export interface WorkerConfig {
  readonly backend: { readonly kind: 'postgres'; readonly url: string } | { readonly kind: 'file'; readonly directory: string };
  readonly sessionKey: string;
  readonly issuer: string;
  readonly tokenEndpoint: string;
  readonly clientId: string;
  /** Coordinators in the process; callers are spread over them in turn. */
  readonly coordinators: number;
  readonly refreshLeewaySeconds: number;
  readonly profile?: ProviderProfile;
  readonly requestTimeoutMs?: number;
  /** Default false: the tests count on-demand refreshes unless they turn auto refresh on. */
  readonly autoRefresh?: boolean;
}

export type CallResult = { readonly ok: true; readonly token: string } | { readonly ok: false; readonly code: string; readonly message: string };

export type ToWorker =
  /** `callers` concurrent getAccessToken calls, started at wall-clock time `at`. */
  | { readonly type: 'burst'; readonly id: number; readonly callers: number; readonly at: number }
  | { readonly type: 'close' };

export type ToParent =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'refresh-started'; readonly pid: number }
  | { readonly type: 'role'; readonly pid: number; readonly held: boolean }
  | {
      readonly type: 'burst-done';
      readonly id: number;
      readonly results: CallResult[];
      /** Token endpoint requests this process has sent so far. */
      readonly refreshRequests: number;
      /** Latest access-token expiry its coordinators hold (0: none). */
      readonly expiresAt: number;
    };
