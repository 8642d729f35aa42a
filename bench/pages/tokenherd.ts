import { createTokenCoordinator, type TokenCoordinator } from '../../src/renderer/index.js';
import { median } from '../results.js';
import { createBench, type BenchHandle } from './harness.js';

// A probe, not a change of behaviour: counts IndexedDB transactions so the hot path can show it reads none.
let idbTransactions = 0;
const transaction = IDBDatabase.prototype.transaction;
IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
  idbTransactions++;
  return transaction.apply(this, args);
} as typeof transaction;

let coordinator: TokenCoordinator;
/** When this window stored a rotated token set (the leader's write), by generation. */
const rotatedAt = new Map<number, number>();
/** When this window read another window's stored generation from the store, by generation. */
const adoptedAt = new Map<number, number>();
/**
 * When this window first held each generation in memory, whatever told it: its own refresh, a
 * store read after an announcement, or a token carried by the announcement itself.
 */
const heldAt = new Map<number, number>();
/** How often this window was granted the refresh lock. */
let lockGrants = 0;

const extra = {
  /** Epoch ms at which this window stored generation `generation` after its own refresh, if it did. */
  rotatedAt: (generation: number): number | undefined => rotatedAt.get(generation),
  adoptedAt: (generation: number): number | undefined => adoptedAt.get(generation),
  heldAt: (generation: number): number | undefined => heldAt.get(generation),
  generation: (): number => coordinator.getState().generation,
  lockGrants: (): number => lockGrants,
  /**
   * `getAccessToken` with a valid token in memory, in batches (the page's timer is too coarse for
   * one call): calls per second, the median cost of one call, and IndexedDB transactions meanwhile.
   */
  async hotPath(durationMs: number, batch = 10_000) {
    await coordinator.getAccessToken();
    // Stop well before the token expires: the hot path is the case of a valid token.
    const budget = Math.min(durationMs, (coordinator.getState().expiresAt ?? Number.POSITIVE_INFINITY) - Date.now() - 200);
    if (budget <= 0) throw new Error('the access token expires too soon to measure the hot path');
    const transactionsBefore = idbTransactions;
    const perCallMicros: number[] = [];
    const started = performance.now();
    let calls = 0;
    while (performance.now() - started < budget) {
      const t0 = performance.now();
      for (let i = 0; i < batch; i++) await coordinator.getAccessToken();
      perCallMicros.push(((performance.now() - t0) * 1000) / batch);
      calls += batch;
    }
    const seconds = (performance.now() - started) / 1000;
    return { calls, callsPerSecond: calls / seconds, medianMicros: median(perCallMicros) ?? Number.NaN, idbTransactions: idbTransactions - transactionsBefore };
  },
};

/** This window's handle, which window.ts publishes. */
export const bench = createBench(
  {
    async init({ issuer, clientId, as }) {
      // One coordinator per window and account, as the library is meant to be used; leeway 0 so every contestant refreshes at the same expiry instant.
      coordinator = createTokenCoordinator({
        sessionKey: 'bench',
        issuer,
        ...(as.token_endpoint !== undefined && { tokenEndpoint: as.token_endpoint }),
        client: { client_id: clientId },
        allowInsecureRequests: true,
        refreshLeewaySeconds: 0,
        // The on-demand table: every window asks at the expiry instant ("callers never wait" measures autoRefresh).
        autoRefresh: false,
      });
      coordinator.subscribe((event) => {
        if (event.type === 'session-changed' && !heldAt.has(event.generation)) heldAt.set(event.generation, Date.now());
        if (event.type === 'session-changed' && event.change === 'rotated') rotatedAt.set(event.generation, Date.now());
        if (event.type === 'session-changed' && event.change === 'adopted') adoptedAt.set(event.generation, Date.now());
        if (event.type === 'lock-acquired') lockGrants++;
      });
      await coordinator.reload();
    },
    signIn: (tokenResponse) => coordinator.setSession(tokenResponse),
    getToken: () => coordinator.getAccessToken(),
    expiresAt: async () => coordinator.getState().expiresAt,
  },
  extra,
);

export type TokenherdBench = BenchHandle<typeof extra>;
