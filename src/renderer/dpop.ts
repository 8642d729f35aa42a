import * as oauth from 'oauth4webapi';
import { herdName } from '../shared/coordinator.js';
import { retryOnNonceChallenge } from '../oauth/dpop-nonce.js';
import type { DpopProofSource, DpopRequestOptions } from '../oauth/token-endpoint.js';
import { createDpopFetch } from './dpop-fetch.js';
import { createDpopKeyStore, generateDpopKeyPair, type DpopKeyStore, type StoredDpopKey } from './dpop-key-store.js';

/**
 * Options of `createDpop`: the session, the tokenherd database that holds its key, and the Web Locks.
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
export interface DpopOptions {
  readonly sessionKey: string;
  /** The tokenherd database, where the key pair and the nonces live beside the session. */
  readonly databaseName: string;
  /** Default `navigator.locks`. */
  readonly locks?: LockManager;
}

/**
 * What a window needs to make DPoP proofs (RFC 9449) for one session: its key pair,
 * read from IndexedDB so that every window signs with the same key, and the latest
 * nonce of each server, shared between windows. Proofs are made by oauth4webapi;
 * this only supplies the key and the nonce.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-4 (DPoP proofs)
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-8 (authorization server nonce)
 */
export interface Dpop extends DpopProofSource {
  /** The session this key belongs to: the coordinator given it must have the same `sessionKey`. */
  readonly sessionKey: string;
  /** The tokenherd database that holds the key: the coordinator's `databaseName`. */
  readonly databaseName: string;
  /** The session's key as stored now; undefined when none is (never signed in with DPoP, signed out, or deleted). */
  key(): Promise<StoredDpopKey | undefined>;
  /** oauth4webapi's proof maker for `key`, which puts the latest shared nonce of the target server in each proof. */
  handle(key: StoredDpopKey): oauth.DPoPHandle;
  /** The nonce this window knows for `origin` (memory only: it is read on every proof). */
  nonce(origin: string): string | undefined;
  /** Records the `DPoP-Nonce` of an answer from `origin`; a new one is stored for the other windows. */
  observe(origin: string, response: Response): Promise<void>;
  /**
   * Options for an oauth4webapi request: the proof maker, and a fetch (default: the global one)
   * that passes every answer's nonce to `observe` before oauth4webapi sees the answer.
   */
  requestOptions(dpop: oauth.DPoPHandle, fetchImpl?: typeof fetch): DpopRequestOptions;
  /**
   * Runs `request` to `origin`. While no window knows a nonce of that server, requests to it
   * take turns under a Web Lock, each after loading what the previous one stored: one
   * window pays the `use_dpop_nonce` round trip, not every window at once.
   */
  firstContact<T>(origin: string, request: () => Promise<T>): Promise<T>;
  /**
   * A sign-in bound to a new key pair (a new lineage): under the session's refresh lock, so
   * that no refresh runs between the key change and the new session, `exchange` obtains
   * the token response with proofs of the new key, the key is stored, then `setSession`
   * stores the session. If `exchange` fails, the previous key and session stay as they were.
   */
  signIn(exchange: (options: DpopRequestOptions) => Promise<unknown>, setSession: (tokenResponse: unknown) => Promise<void>): Promise<void>;
  /** Deletes the session's key: after a sign-out no proof can be made for its tokens. */
  forget(): Promise<void>;
  /**
   * What `coordinator.fetch` sends with: `Authorization: DPoP` and a proof for the access token,
   * one retry on a nonce challenge; resolves undefined, sending nothing, when no key is stored.
   */
  resourceSender(options: { readonly fetch: typeof fetch; readonly allowInsecureRequests: boolean }): (request: Request, accessToken: string) => Promise<Response | undefined>;
  close(): void;
}

/**
 * The DPoP proof maker of one session in this window. Every window signs with the one key stored
 * for the session, so the server sees one `jkt` per sign-in; a nonce one window learns serves all.
 * @see https://www.rfc-editor.org/rfc/rfc9449
 */
export function createDpop(options: DpopOptions): Dpop {
  const { sessionKey } = options;
  const locks = options.locks ?? navigator.locks;
  const store: DpopKeyStore = createDpopKeyStore(options.databaseName);
  const nonces = new Map<string, string>();
  /** Origins this window has already reached once: it learned their nonce, or that they send none. */
  const contacted = new Set<string>();
  // One handle per key: it computes the public JWK header once.
  let cached: { jkt: string; handle: oauth.DPoPHandle } | undefined;

  function makeHandle(keyPair: CryptoKeyPair): oauth.DPoPHandle {
    return oauth.DPoP({}, keyPair, {
      [oauth.modifyAssertion]: (_header, payload) => {
        // The shared nonce is at least as new as the one the handle cached from this window's own answers.
        const shared = typeof payload['htu'] === 'string' ? nonces.get(new URL(payload['htu']).origin) : undefined;
        if (shared !== undefined) payload['nonce'] = shared;
      },
    });
  }

  function handle(key: StoredDpopKey): oauth.DPoPHandle {
    if (cached?.jkt !== key.jkt) cached = { jkt: key.jkt, handle: makeHandle(key.keyPair) };
    return cached.handle;
  }

  async function load(origin: string): Promise<void> {
    if (nonces.has(origin)) return;
    const stored = await store.readNonce(origin);
    if (stored !== undefined && !nonces.has(origin)) nonces.set(origin, stored);
  }

  async function observe(origin: string, response: Response): Promise<void> {
    const nonce = response.headers.get('dpop-nonce');
    if (nonce === null || nonces.get(origin) === nonce) return;
    nonces.set(origin, nonce);
    await store.writeNonce(origin, nonce);
  }

  function requestOptions(dpop: oauth.DPoPHandle, fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis)): DpopRequestOptions {
    return {
      DPoP: dpop,
      [oauth.customFetch]: async (url, init) => {
        const response = await fetchImpl(url, init as RequestInit);
        await observe(new URL(url).origin, response);
        return response;
      },
    };
  }

  const dpop: Dpop = {
    sessionKey,
    databaseName: options.databaseName,
    key: () => store.read(sessionKey),
    handle,
    nonce: (origin) => nonces.get(origin),
    observe,
    requestOptions,
    async tokenRequest(origin, send, fetchImpl) {
      const key = await store.read(sessionKey);
      if (key === undefined) {
        return { error: 'dpop_key_missing', description: 'the DPoP key of this session is no longer in IndexedDB, and its refresh token is bound to that key' };
      }
      const proofs = requestOptions(handle(key), fetchImpl);
      return retryOnNonceChallenge(() => dpop.firstContact(origin, () => send(proofs)));
    },
    async firstContact(origin, request) {
      if (contacted.has(origin) || nonces.has(origin)) return request();
      await load(origin);
      if (nonces.has(origin)) return request();
      return locks.request(`tokenherd:dpop-nonce:${origin}`, async () => {
        await load(origin); // the previous holder may have stored one
        try {
          return await request();
        } finally {
          contacted.add(origin);
        }
      });
    },
    signIn(exchange, setSession) {
      // The core's refresh lock: a refresh of the old session cannot interleave.
      return locks.request(herdName(sessionKey), async () => {
        const keyPair = await generateDpopKeyPair();
        const tokenResponse = await exchange(requestOptions(makeHandle(keyPair)));
        await store.put(sessionKey, keyPair);
        await setSession(tokenResponse);
      });
    },
    forget: () => store.delete(sessionKey),
    resourceSender: ({ fetch, allowInsecureRequests }) => createDpopFetch({ dpop, fetch, allowInsecureRequests }),
    close: () => store.close(),
  };
  return dpop;
}
