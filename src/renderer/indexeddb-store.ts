import { openDB, type DBSchema, type IDBPDatabase, type OpenDBCallbacks } from 'idb';
import type { SessionStore } from '../shared/ports.js';
import { isStoredSession, type StoredSession } from '../shared/session.js';

export const DEFAULT_DATABASE_NAME = 'tokenherd';
/** 1: sessions. 2: the DPoP key pair of each session, and the latest DPoP nonce of each server. */
export const DATABASE_VERSION = 2;

/** A session's DPoP key pair (see dpop-key-store.ts): the private key is a non-extractable CryptoKey. */
export interface StoredDpopKey {
  readonly sessionKey: string;
  readonly keyPair: CryptoKeyPair;
  /** RFC 7638 thumbprint of the public key: the `jkt` the server binds the session's tokens to. */
  readonly jkt: string;
  readonly createdAt: number;
}

/** The latest DPoP nonce a server (by origin) announced, for every window. Nonces are not secrets. */
export interface StoredDpopNonce {
  readonly origin: string;
  readonly nonce: string;
  readonly updatedAt: number;
}

export interface TokenHerdDB extends DBSchema {
  /** One record per session key; anything that fails `isStoredSession` counts as no record. */
  sessions: { key: string; value: StoredSession };
  dpopKeys: { key: string; value: StoredDpopKey };
  dpopNonces: { key: string; value: StoredDpopNonce };
}

/** Upgrades a database of any earlier version step by step; a version-1 database keeps its sessions. */
function upgrade(db: IDBPDatabase<TokenHerdDB>, oldVersion: number): void {
  if (oldVersion < 1) db.createObjectStore('sessions', { keyPath: 'sessionKey' });
  if (oldVersion < 2) {
    db.createObjectStore('dpopKeys', { keyPath: 'sessionKey' });
    db.createObjectStore('dpopNonces', { keyPath: 'origin' });
  }
}

/**
 * Opens the tokenherd database at the current version, upgrading it if needed. Every
 * connection must close when `blocking` is called (the caller's job), so that no open
 * window holds an upgrade or a deletion up.
 */
export function openTokenHerdDatabase(
  databaseName: string,
  callbacks: Pick<OpenDBCallbacks<TokenHerdDB>, 'blocking' | 'terminated'>,
): Promise<IDBPDatabase<TokenHerdDB>> {
  return openDB<TokenHerdDB>(databaseName, DATABASE_VERSION, { upgrade, ...callbacks });
}

/**
 * Sessions in IndexedDB. Unlike localStorage, IndexedDB is consistent across
 * renderer processes: a window granted the lock reads what the previous holder
 * committed. Writes use `durability: 'strict'` so a rotated refresh token
 * survives power loss. The connection opens lazily and closes itself when
 * another context upgrades or deletes the database, so it never blocks them.
 */
export interface IndexedDbStoreOptions {
  /**
   * Called when another context upgrades or deletes the database, or the browser
   * force-closes it (site data cleared, eviction): what was read before may be gone.
   */
  readonly onClosedByOthers?: () => void;
}

export function createIndexedDbStore(databaseName = DEFAULT_DATABASE_NAME, options: IndexedDbStoreOptions = {}): SessionStore {
  let connection: Promise<IDBPDatabase<TokenHerdDB>> | undefined;
  let closed = false;

  function database(): Promise<IDBPDatabase<TokenHerdDB>> {
    connection ??= openTokenHerdDatabase(databaseName, {
      blocking(_current, _next, event) {
        (event.target as IDBDatabase).close();
        connection = undefined;
        options.onClosedByOthers?.();
      },
      terminated() {
        connection = undefined;
        options.onClosedByOthers?.();
      },
    }).catch((error: unknown) => {
      connection = undefined;
      throw error;
    });
    return connection;
  }

  /** Runs `operation`, once more on a fresh connection if the cached one was closed under it. */
  async function withDatabase<T>(operation: (db: IDBPDatabase<TokenHerdDB>) => Promise<T>): Promise<T> {
    if (closed) throw new DOMException('The session store is closed', 'InvalidStateError');
    const db = await database();
    try {
      return await operation(db);
    } catch (error) {
      if (!(error instanceof DOMException && error.name === 'InvalidStateError') || closed) throw error;
      if (connection && (await connection) === db) connection = undefined;
      return operation(await database());
    }
  }

  return {
    read: (sessionKey) =>
      withDatabase(async (db) => {
        const value: unknown = await db.get('sessions', sessionKey);
        return isStoredSession(value) ? value : undefined;
      }),
    compareAndSet: (sessionKey, expectedGeneration, next) =>
      withDatabase(async (db) => {
        // Read and write in one readwrite transaction: no other writer can come between.
        const tx = db.transaction('sessions', 'readwrite', { durability: 'strict' });
        const stored: unknown = await tx.store.get(sessionKey);
        const current = isStoredSession(stored) ? stored : undefined;
        if ((current?.generation ?? 0) !== expectedGeneration) {
          await tx.done;
          return { ok: false, current } as const;
        }
        await Promise.all([tx.store.put(next), tx.done]);
        return { ok: true } as const;
      }),
    close() {
      closed = true;
      const pending = connection;
      connection = undefined;
      void pending?.then((db) => db.close(), () => {});
    },
  };
}
