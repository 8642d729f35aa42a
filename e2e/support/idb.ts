/**
 * Raw IndexedDB access for tests, bypassing tokenherd, as another app version
 * or a same-origin script would. Each function is self-contained so that
 * `page.evaluate` can ship it into the page.
 */
export function readRecord(sessionKey: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('tokenherd');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction('sessions').objectStore('sessions').get(sessionKey);
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => reject(get.error);
    };
  });
}

export function putRecord(record: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('tokenherd');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction('sessions', 'readwrite');
      tx.objectStore('sessions').put(record);
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}

/**
 * What the page can learn of the stored DPoP key of a session: its `jkt`, and the outcome of
 * trying to export the private key in each format (the error's name, or 'exported').
 */
export async function inspectDpopKey(sessionKey: string): Promise<{ jkt: string; extractable: boolean; exports: string[] } | undefined> {
  const record = await new Promise<{ jkt: string; keyPair: CryptoKeyPair } | undefined>((resolve, reject) => {
    const open = indexedDB.open('tokenherd');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const get = db.transaction('dpopKeys').objectStore('dpopKeys').get(sessionKey);
      get.onsuccess = () => {
        db.close();
        resolve(get.result);
      };
      get.onerror = () => reject(get.error);
    };
  });
  if (record === undefined) return undefined;
  const { privateKey } = record.keyPair;
  const exports = await Promise.all(
    (['jwk', 'pkcs8'] as const).map((format) =>
      crypto.subtle.exportKey(format, privateKey).then(
        () => 'exported',
        (error: unknown) => (error instanceof DOMException ? error.name : String(error)),
      ),
    ),
  );
  return { jkt: record.jkt, extractable: privateKey.extractable, exports };
}

/** Deletes every record of one object store, as a same-origin script or a storage cleanup could. */
export function clearStore(storeName: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('tokenherd');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      const tx = db.transaction(storeName, 'readwrite');
      tx.objectStore(storeName).clear();
      tx.oncomplete = () => {
        db.close();
        resolve();
      };
      tx.onerror = () => reject(tx.error);
    };
  });
}
