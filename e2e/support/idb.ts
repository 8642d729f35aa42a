/**
 * Raw IndexedDB access for tests, bypassing tokenherd, as another app version
 * or a same-origin script would.
 */
import type { Page } from '@playwright/test';

/** What the page can learn of a stored DPoP key: its `jkt`, and the outcome of exporting the private key in each format (the error's name, or 'exported'). */
export interface DpopKeyFacts {
  readonly jkt: string;
  readonly extractable: boolean;
  readonly exports: string[];
}

type Request =
  | { readonly op: 'get' | 'inspect-key'; readonly store: string; readonly key: string }
  | { readonly op: 'put'; readonly store: string; readonly value: unknown }
  | { readonly op: 'clear'; readonly store: string };

/**
 * One request to the `tokenherd` database, run in the page. Self-contained, since
 * `page.evaluate` ships only its source: every helper below goes through it.
 */
async function inPage(request: Request): Promise<unknown> {
  const result = await new Promise<unknown>((resolve, reject) => {
    const open = indexedDB.open('tokenherd');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(request.store, request.op === 'put' || request.op === 'clear' ? 'readwrite' : 'readonly');
      const objects = tx.objectStore(request.store);
      const done = request.op === 'put' ? objects.put(request.value) : request.op === 'clear' ? objects.clear() : objects.get(request.key);
      tx.oncomplete = () => {
        db.close();
        resolve(done.result);
      };
      tx.onerror = () => reject(done.error ?? tx.error);
    };
  });
  if (request.op !== 'inspect-key' || result === undefined) return result;
  // A CryptoKey does not leave the page: only what can be learnt of it does.
  const { jkt, keyPair } = result as { jkt: string; keyPair: CryptoKeyPair };
  const exports = await Promise.all(
    (['jwk', 'pkcs8'] as const).map((format) =>
      crypto.subtle.exportKey(format, keyPair.privateKey).then(
        () => 'exported',
        (error: unknown) => (error instanceof DOMException ? error.name : String(error)),
      ),
    ),
  );
  return { jkt, extractable: keyPair.privateKey.extractable, exports };
}

const run = (page: Page, request: Request): Promise<unknown> => page.evaluate(inPage, request);

/** The session record stored under `sessionKey`, as the page's IndexedDB holds it. */
export function readRecord(page: Page, sessionKey: string): Promise<unknown> {
  return run(page, { op: 'get', store: 'sessions', key: sessionKey });
}

/** Writes `record` over whatever is stored under its session key. */
export async function putRecord(page: Page, record: unknown): Promise<void> {
  await run(page, { op: 'put', store: 'sessions', value: record });
}

/** What the page can learn of the stored DPoP key of a session; undefined when none is stored. */
export async function inspectDpopKey(page: Page, sessionKey: string): Promise<DpopKeyFacts | undefined> {
  return (await run(page, { op: 'inspect-key', store: 'dpopKeys', key: sessionKey })) as DpopKeyFacts | undefined;
}

/** Deletes every record of one object store, as a same-origin script or a storage cleanup could. */
export async function clearStore(page: Page, storeName: string): Promise<void> {
  await run(page, { op: 'clear', store: storeName });
}
