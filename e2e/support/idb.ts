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
