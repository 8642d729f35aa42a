import 'fake-indexeddb/auto';
import { expect, test } from '@playwright/test';
import { openDB } from 'idb';
import type { StoredSession } from '../shared/session.js';
import { createDpopKeyStore, generateDpopKeyPair } from './dpop-key-store.js';
import { DATABASE_VERSION, createIndexedDbStore } from './indexeddb-store.js';
import { expectSessionIdsChecked } from '../../test/support/store-contract.js';

const record = (generation: number): StoredSession => ({
  sessionKey: 'k',
  generation,
  state: 'active',
  cause: 'rotated',
  tokens: { accessToken: `at-${generation}`, refreshToken: `rt-${generation}` },
  updatedAt: 0,
});

test('compare-and-set writes only over the expected generation', async () => {
  const store = createIndexedDbStore('cas');
  expect(await store.read('k')).toBeUndefined();
  expect(await store.compareAndSet('k', { generation: 0 }, record(1))).toEqual({ ok: true });
  expect(await store.compareAndSet('k', { generation: 0 }, record(1))).toEqual({ ok: false, current: record(1) });
  const [a, b] = await Promise.all([store.compareAndSet('k', { generation: 1 }, record(2)), store.compareAndSet('k', { generation: 1 }, record(2))]);
  expect([a.ok, b.ok].sort()).toEqual([false, true]);
  expect(await store.read('k')).toEqual(record(2));
  store.close();
});

test('a malformed stored record reads as none and can be replaced', async () => {
  const raw = await openDB('garbage', 1, { upgrade: (db) => db.createObjectStore('sessions', { keyPath: 'sessionKey' }) });
  await raw.put('sessions', { sessionKey: 'k', generation: 'lots', tokens: 'yes' });
  raw.close();
  const store = createIndexedDbStore('garbage');
  expect(await store.read('k')).toBeUndefined();
  expect(await store.compareAndSet('k', { generation: 0 }, record(1))).toEqual({ ok: true });
  store.close();
});

test('an open store closes for a schema upgrade instead of blocking it', async () => {
  const store = createIndexedDbStore('upgrade');
  await store.compareAndSet('k', { generation: 0 }, record(1));
  let blocked = false;
  const upgraded = await openDB('upgrade', DATABASE_VERSION + 1, { blocked: () => (blocked = true) });
  expect(blocked).toBe(false);
  upgraded.close();
  // This (old) code cannot use the newer schema: it fails, and the app should reload.
  await expect(store.read('k')).rejects.toMatchObject({ name: 'VersionError' });
  store.close();
});

/** Deletes `name`; rejects if an open connection holds the deletion up. */
function deleteDatabase(name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const request = indexedDB.deleteDatabase(name);
    request.onsuccess = () => resolve();
    request.onerror = () => reject(request.error);
    request.onblocked = () => reject(new Error('deletion blocked by an open store'));
  });
}

test('an open store lets the database be deleted, then reads it as empty', async () => {
  const store = createIndexedDbStore('deleted');
  await store.compareAndSet('k', { generation: 0 }, record(1));
  await deleteDatabase('deleted');
  expect(await store.read('k')).toBeUndefined();
  store.close();
  await expect(store.read('k')).rejects.toThrow('closed');
});

test('the session store and the DPoP key store on one database both let it be deleted, say so, and reopen', async () => {
  let closedByOthers = 0;
  const sessions = createIndexedDbStore('shared', { onClosedByOthers: () => closedByOthers++ });
  const keys = createDpopKeyStore('shared');
  await sessions.compareAndSet('k', { generation: 0 }, record(1));
  await keys.put('k', await generateDpopKeyPair());
  await keys.writeNonce('https://as.example', 'n1');
  await deleteDatabase('shared');
  expect(closedByOthers).toBe(1);
  expect(await sessions.read('k')).toBeUndefined();
  expect(await keys.read('k')).toBeUndefined();
  expect(await keys.readNonce('https://as.example')).toBeUndefined();
  await keys.writeNonce('https://as.example', 'n2');
  expect(await keys.readNonce('https://as.example')).toBe('n2');
  keys.close();
  await expect(keys.readNonce('https://as.example')).rejects.toThrow('The DPoP key store is closed');
  expect(await sessions.compareAndSet('k', { generation: 0 }, record(1))).toEqual({ ok: true });
  sessions.close();
});

test('a compare-and-set commits with durability strict, so a rotated token survives power loss', async () => {
  const transaction = IDBDatabase.prototype.transaction;
  const modes: unknown[] = [];
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<typeof transaction>) {
    if (args[1] !== 'versionchange') modes.push([args[1], args[2]]); // the upgrade's own transaction
    return transaction.apply(this, args);
  } as typeof transaction;
  try {
    const store = createIndexedDbStore('durable');
    await store.compareAndSet('k', { generation: 0 }, record(1));
    store.close();
  } finally {
    IDBDatabase.prototype.transaction = transaction;
  }
  expect(modes).toEqual([['readwrite', { durability: 'strict' }]]);
});

test('a version-1 database (sessions only) upgrades to the current version and keeps its session', async () => {
  const v1 = await openDB('v1', 1, { upgrade: (db) => db.createObjectStore('sessions', { keyPath: 'sessionKey' }) });
  await v1.put('sessions', record(3));
  v1.close();
  const store = createIndexedDbStore('v1');
  expect(await store.read('k')).toEqual(record(3));
  store.close();
  const upgraded = await openDB('v1');
  expect(upgraded.version).toBe(DATABASE_VERSION);
  expect([...upgraded.objectStoreNames].sort()).toEqual(['dpopKeys', 'dpopNonces', 'sessions']);
  upgraded.close();
});

test('compare-and-set checks the session id: after the database is deleted and a new sign-in, the old session writes nothing (I10)', async () => {
  const store = createIndexedDbStore('cleared');
  await expectSessionIdsChecked(store, 'k', async () => {
    const deleting = indexedDB.deleteDatabase('cleared');
    await new Promise((resolve, reject) => {
      deleting.onsuccess = resolve;
      deleting.onerror = () => reject(deleting.error);
    });
  });
  store.close();
});
