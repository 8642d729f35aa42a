import { createDpop } from '../../src/renderer/dpop.js';
import { createDpopFetch } from '../../src/renderer/dpop-fetch.js';
import { createDpopKeyStore, generateDpopKeyPair } from '../../src/renderer/dpop-key-store.js';

/** performance.now() is coarsened to 0.1 ms in a page without cross-origin isolation: calls are timed in batches. */
const BATCH = 20;

export interface DpopBenchResult {
  /** Milliseconds per call, each the mean of a batch of consecutive calls, sorted, for each path. */
  readonly bearer: number[];
  readonly dpop: number[];
  /** The first DPoP call: the key read from IndexedDB and the public JWK computed once. */
  readonly firstDpopMs: number;
}

/**
 * Both paths send to a fetch that answers at once, so what is timed is the work of the window:
 * for bearer, cloning the request and setting a header (what coordinator.fetch does); for DPoP,
 * the same plus the proof (oauth4webapi: SHA-256 of the token for `ath`, an ES256 signature).
 */
async function run(calls: number): Promise<DpopBenchResult> {
  const databaseName = `bench-dpop-${Date.now()}`;
  const keys = createDpopKeyStore(databaseName);
  await keys.put('bench', await generateDpopKeyPair());
  keys.close();
  const answer = (): Promise<Response> => Promise.resolve(new Response(null, { status: 200 }));
  const dpop = createDpop({ sessionKey: 'bench', databaseName });
  const send = createDpopFetch({ dpop, fetch: answer });
  const request = new Request('https://api.example/v1/items?page=2');
  const token = 'a'.repeat(43); // the size of oidc-provider's opaque access tokens

  const timed = async (call: () => Promise<unknown>, times = BATCH): Promise<number> => {
    const start = performance.now();
    for (let i = 0; i < times; i++) await call();
    return (performance.now() - start) / times;
  };
  const firstDpopMs = await timed(() => send(request, token), 1);
  const bearerCall = () => {
    const attempt = request.clone();
    attempt.headers.set('authorization', `Bearer ${token}`);
    return answer();
  };
  const bearer: number[] = [];
  const proofs: number[] = [];
  // Interleaved, so that a slow moment of a shared machine hits both paths alike.
  for (let i = 0; i < Math.ceil(calls / BATCH); i++) {
    bearer.push(await timed(bearerCall));
    proofs.push(await timed(() => send(request, token)));
  }
  dpop.close();
  return { bearer: bearer.sort((a, b) => a - b), dpop: proofs.sort((a, b) => a - b), firstDpopMs };
}

Object.assign(window, { dpopBench: { run } });
