/**
 * The `tokenherd` database read and written directly in a window, bypassing
 * tokenherd, as another app version, a same-origin script or the browser's
 * storage cleanup would. Each function travels as source: self-contained.
 */
import type { EngineWindow } from './driver.js';

type Operation = { readonly put?: unknown; readonly key?: string };

/** Reads the session record under `key`, or writes `put` over whatever is stored under its key; resolves to the record read. */
function sessionsRequest(operation: Operation): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open('tokenherd');
    opening.onerror = () => reject(opening.error);
    opening.onsuccess = () => {
      const tx = opening.result.transaction('sessions', operation.put === undefined ? 'readonly' : 'readwrite');
      const request = operation.put === undefined ? tx.objectStore('sessions').get(operation.key!) : tx.objectStore('sessions').put(operation.put);
      tx.oncomplete = () => {
        opening.result.close();
        resolve(request.result);
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

export const readRecord = (win: EngineWindow, key: string): Promise<unknown> => win.evaluate(sessionsRequest, { key });

export async function putRecord(win: EngineWindow, record: unknown): Promise<void> {
  await win.evaluate(sessionsRequest, { put: record });
}

/** Deletes the whole database, as WebKit's ITP does to a site's script-writable storage after 7 days without interaction. */
export function deleteDatabase(win: EngineWindow): Promise<string> {
  return win.evaluate(
    () =>
      new Promise<string>((resolve, reject) => {
        const request = indexedDB.deleteDatabase('tokenherd');
        request.onsuccess = () => resolve('deleted');
        request.onerror = () => reject(request.error);
        request.onblocked = () => resolve('blocked');
      }),
  );
}

/** What a window can learn of the stored DPoP key of a session: its `jkt`, and how exporting the private key ends in each format. */
export function inspectDpopKey(win: EngineWindow, key: string): Promise<{ jkt: string; extractable: boolean; exports: string[] } | undefined> {
  return win.evaluate(async (sessionKey) => {
    const stored = await new Promise<{ jkt: string; keyPair: CryptoKeyPair } | undefined>((resolve, reject) => {
      const opening = indexedDB.open('tokenherd');
      opening.onerror = () => reject(opening.error);
      opening.onsuccess = () => {
        const request = opening.result.transaction('dpopKeys').objectStore('dpopKeys').get(sessionKey);
        request.onsuccess = () => resolve(request.result as { jkt: string; keyPair: CryptoKeyPair } | undefined);
        request.onerror = () => reject(request.error);
      };
    });
    if (stored === undefined) return undefined;
    const exported = (format: 'jwk' | 'pkcs8') =>
      crypto.subtle.exportKey(format, stored.keyPair.privateKey).then(
        () => 'exported',
        (error: unknown) => (error instanceof DOMException ? error.name : String(error)),
      );
    return { jkt: stored.jkt, extractable: stored.keyPair.privateKey.extractable, exports: [await exported('jwk'), await exported('pkcs8')] };
  }, key);
}
