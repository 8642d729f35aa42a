import * as oauth from 'oauth4webapi';
import { createDatabaseConnection, type StoredDpopKey, type StoredDpopNonce } from './indexeddb-store.js';

export type { StoredDpopKey, StoredDpopNonce } from './indexeddb-store.js';

/**
 * ES256 (ECDSA P-256, RFC 9449's common denominator). The private key is created
 * non-extractable: neither this code nor any other script of the origin can read it
 * out, only ask the browser to sign with it. The public key of a pair is always
 * extractable (it goes into every proof's header).
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4.2 (the proof's `jwk` header and signature algorithm)
 */
export function generateDpopKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
}

/**
 * The `jkt` (JWK thumbprint) of a key pair, as oauth4webapi computes it for `dpop_jkt`.
 * @see https://www.rfc-editor.org/rfc/rfc7638#section-3
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-10 (authorization code binding to a key)
 */
export function dpopThumbprint(keyPair: CryptoKeyPair): Promise<string> {
  return oauth.DPoP({}, keyPair).calculateThumbprint();
}

/**
 * The DPoP key pair of each session, and the latest DPoP nonce of each server, in the
 * tokenherd database beside the sessions. A CryptoKeyPair is stored by structured
 * clone: the private key stays a non-extractable handle in every window that reads it.
 * Keys never go on the channel, to the main process or to an embedded view.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-3 (the key pair a client proves possession of)
 */
export interface DpopKeyStore {
  /** The session's key, or undefined when none is stored or what is stored is not a usable key. */
  read(sessionKey: string): Promise<StoredDpopKey | undefined>;
  /** Stores `keyPair` as the session's key, replacing any other: a new sign-in lineage. */
  put(sessionKey: string, keyPair: CryptoKeyPair): Promise<StoredDpopKey>;
  delete(sessionKey: string): Promise<void>;
  readNonce(origin: string): Promise<string | undefined>;
  writeNonce(origin: string, nonce: string): Promise<void>;
  close(): void;
}

/**
 * The DPoP key store of the tokenherd database `databaseName`, on a connection of its own.
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
export function createDpopKeyStore(databaseName: string): DpopKeyStore {
  const connection = createDatabaseConnection(databaseName, 'DPoP key store');
  return {
    async read(sessionKey) {
      const value: unknown = await connection.use((db) => db.get('dpopKeys', sessionKey));
      return isUsableKey(value) ? value : undefined;
    },
    async put(sessionKey, keyPair) {
      const record: StoredDpopKey = { sessionKey, keyPair, jkt: await dpopThumbprint(keyPair), createdAt: Date.now() };
      await connection.use(async (db) => {
        const tx = db.transaction('dpopKeys', 'readwrite', { durability: 'strict' });
        await Promise.all([tx.store.put(record), tx.done]);
      });
      return record;
    },
    async delete(sessionKey) {
      await connection.use((db) => db.delete('dpopKeys', sessionKey));
    },
    async readNonce(origin) {
      const value: StoredDpopNonce | undefined = await connection.use((db) => db.get('dpopNonces', origin));
      return typeof value?.nonce === 'string' ? value.nonce : undefined;
    },
    async writeNonce(origin, nonce) {
      await connection.use((db) => db.put('dpopNonces', { origin, nonce, updatedAt: Date.now() }));
    },
    close: () => connection.close(),
  };
}

/**
 * A stored key is used only if it is an ES256 pair whose private key cannot be exported:
 * an extractable key written by another script (or another app version) counts as no key.
 */
function isUsableKey(value: unknown): value is StoredDpopKey {
  if (typeof value !== 'object' || value === null) return false;
  const { keyPair, jkt } = value as Partial<StoredDpopKey>;
  const privateKey = keyPair?.privateKey;
  const publicKey = keyPair?.publicKey;
  return (
    typeof jkt === 'string' &&
    privateKey instanceof CryptoKey &&
    publicKey instanceof CryptoKey &&
    privateKey.type === 'private' &&
    !privateKey.extractable &&
    privateKey.algorithm.name === 'ECDSA' &&
    (privateKey.algorithm as EcKeyAlgorithm).namedCurve === 'P-256'
  );
}
