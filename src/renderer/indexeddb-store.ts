import { openDB, type DBSchema, type IDBPDatabase, type OpenDBCallbacks } from 'idb';
import type { SessionStore } from '../shared/ports.js';
import { isStoredSession, isVersion, type StoredSession } from '../shared/session.js';

/** The IndexedDB database of sessions, DPoP keys and nonces when no `databaseName` is given. */
export const DEFAULT_DATABASE_NAME = 'tokenherd';
/** 1: sessions. 2: the DPoP key pair of each session, and the latest DPoP nonce of each server. */
export const DATABASE_VERSION = 2;

/**
 * A session's DPoP key pair (see dpop-key-store.ts): the private key is a non-extractable CryptoKey.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-6 (the `jkt` a server binds tokens to)
 */
export interface StoredDpopKey {
  readonly sessionKey: string;
  readonly keyPair: CryptoKeyPair;
  /** RFC 7638 thumbprint of the public key: the `jkt` the server binds the session's tokens to. */
  readonly jkt: string;
  readonly createdAt: number;
}

/**
 * The latest DPoP nonce a server (by origin) announced, for every window. Nonces are not secrets.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8
 */
export interface StoredDpopNonce {
  readonly origin: string;
  readonly nonce: string;
  readonly updatedAt: number;
}

/** The schema of the tokenherd database at `DATABASE_VERSION`: sessions, DPoP keys, DPoP nonces. */
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
 * One connection to the tokenherd database, opened on first use and shared by the
 * operations of one store. It never holds another context up: it closes itself when
 * another context upgrades or deletes the database, and reopens on the next use.
 */
export interface DatabaseConnection {
  /**
   * Runs `operation` on the connection; once more on a fresh connection if the one it got
   * was closed under it (InvalidStateError). Rejects with InvalidStateError after `close`.
   */
  use<T>(operation: (db: IDBPDatabase<TokenHerdDB>) => Promise<T>): Promise<T>;
  close(): void;
}

/**
 * The connection holder of the session store and the DPoP key store. `onClosedByOthers`
 * is called when another context upgrades or deletes the database, or the browser
 * force-closes it (site data cleared, eviction); `what` names the store in errors.
 */
export function createDatabaseConnection(databaseName: string, what: string, onClosedByOthers: () => void = () => {}): DatabaseConnection {
  let connection: Promise<IDBPDatabase<TokenHerdDB>> | undefined;
  let closed = false;
  const forget = (opening: Promise<IDBPDatabase<TokenHerdDB>>): void => {
    if (connection === opening) connection = undefined;
  };

  function database(): Promise<IDBPDatabase<TokenHerdDB>> {
    if (connection) return connection;
    const opening: Promise<IDBPDatabase<TokenHerdDB>> = openTokenHerdDatabase(databaseName, {
      blocking(_current, _next, event) {
        (event.target as IDBDatabase).close();
        forget(opening);
        onClosedByOthers();
      },
      terminated() {
        forget(opening);
        onClosedByOthers();
      },
    }).catch((error: unknown) => {
      forget(opening);
      throw error;
    });
    connection = opening;
    return opening;
  }

  return {
    async use(operation) {
      if (closed) throw new DOMException(`The ${what} is closed`, 'InvalidStateError');
      const opening = database();
      const db = await opening;
      try {
        return await operation(db);
      } catch (error) {
        if (!(error instanceof DOMException && error.name === 'InvalidStateError') || closed) throw error;
        forget(opening);
        return operation(await database());
      }
    },
    close() {
      closed = true;
      const pending = connection;
      connection = undefined;
      void pending?.then((db) => db.close(), () => {});
    },
  };
}

/** Options of `createIndexedDbStore`. */
export interface IndexedDbStoreOptions {
  /**
   * Called when another context upgrades or deletes the database, or the browser
   * force-closes it (site data cleared, eviction): what was read before may be gone.
   */
  readonly onClosedByOthers?: () => void;
}

/**
 * Sessions in IndexedDB. Unlike localStorage, IndexedDB is consistent across
 * renderer processes: a window granted the lock reads what the previous holder
 * committed. Writes use `durability: 'strict'` so a rotated refresh token
 * survives power loss. The connection opens lazily and closes itself when
 * another context upgrades or deletes the database, so it never blocks them.
 */
export function createIndexedDbStore(databaseName = DEFAULT_DATABASE_NAME, options: IndexedDbStoreOptions = {}): SessionStore {
  const connection = createDatabaseConnection(databaseName, 'session store', options.onClosedByOthers);
  return {
    read: (sessionKey) =>
      connection.use(async (db) => {
        const value: unknown = await db.get('sessions', sessionKey);
        return isStoredSession(value) ? value : undefined;
      }),
    compareAndSet: (sessionKey, expected, next) =>
      connection.use(async (db) => {
        // Read and write in one readwrite transaction: no other writer can come between.
        const tx = db.transaction('sessions', 'readwrite', { durability: 'strict' });
        const stored: unknown = await tx.store.get(sessionKey);
        const current = isStoredSession(stored) ? stored : undefined;
        if (!isVersion(current, expected)) {
          await tx.done;
          return { ok: false, current } as const;
        }
        await Promise.all([tx.store.put(next), tx.done]);
        return { ok: true } as const;
      }),
    close: () => connection.close(),
  };
}
