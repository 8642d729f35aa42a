import { expect, test } from '@playwright/test';
import { TokenHerdError, ErrorCode } from '../shared/errors.js';
import { createMemoryStore } from '../testing/memory.js';
import type { StoredSession } from '../shared/session.js';
import { SEALED_PREFIX, createSealedStore, type Sealer } from './sealed-store.js';
import { expectSessionIdsChecked } from '../../test/support/store-contract.js';

const KEY = 'github:alice';

/** Reversible, non-deterministic, and counting; failures on demand. */
function fakeSealer() {
  let n = 0;
  const calls = { seal: 0, unseal: 0 };
  const fail: { seal?: unknown; unseal?: unknown } = {};
  const sealer: Sealer = {
    async seal(text) {
      calls.seal++;
      if (fail.seal) throw fail.seal;
      return Buffer.from(`${++n}:${text}`).toString('base64');
    },
    async unseal(sealed) {
      calls.unseal++;
      if (fail.unseal) throw fail.unseal;
      return Buffer.from(sealed, 'base64').toString().replace(/^\d+:/, '');
    },
  };
  return { sealer, calls, fail };
}

const active = (generation: number, refreshToken?: string): StoredSession => ({
  sessionKey: KEY,
  generation,
  state: 'active',
  cause: generation === 1 ? 'signed-in' : 'rotated',
  tokens: { accessToken: `at-${generation}`, ...(refreshToken !== undefined && { refreshToken }), expiresAt: 1_000 },
  updatedAt: 0,
});

const storedRefreshToken = (raw: unknown): unknown => (raw as { tokens?: { refreshToken?: unknown } }).tokens?.refreshToken;

test('the refresh token is sealed at rest and read back in plaintext; the rest of the record is untouched', async () => {
  const inner = createMemoryStore();
  const { sealer } = fakeSealer();
  const store = createSealedStore(inner, sealer);
  expect(await store.compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'))).toEqual({ ok: true });
  const raw = inner.raw(KEY) as StoredSession;
  expect(storedRefreshToken(raw)).toMatch(new RegExp(`^${SEALED_PREFIX}`));
  expect(JSON.stringify(raw)).not.toContain('rt-1');
  expect(raw).toMatchObject({ generation: 1, tokens: { accessToken: 'at-1', expiresAt: 1_000 } });
  expect(await store.read(KEY)).toEqual(active(1, 'rt-1'));
});

test('compare-and-set compares generations, never ciphertexts: the same token seals differently and a stale writer still loses', async () => {
  const inner = createMemoryStore();
  const { sealer } = fakeSealer();
  const store = createSealedStore(inner, sealer);
  await store.compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'));
  const first = storedRefreshToken(inner.raw(KEY));
  // Rewriting the same refresh token (a provider that does not rotate) stores a different ciphertext...
  expect(await store.compareAndSet(KEY, { generation: 1 }, active(2, 'rt-1'))).toEqual({ ok: true });
  expect(storedRefreshToken(inner.raw(KEY))).not.toBe(first);
  // ...and a writer that expected generation 1 loses on the generation, and is shown the current record unsealed.
  expect(await store.compareAndSet(KEY, { generation: 1 }, active(2, 'rt-stale'))).toEqual({ ok: false, current: active(2, 'rt-1') });
  expect(await store.read(KEY)).toEqual(active(2, 'rt-1'));
});

test('records without a refresh token, tombstones and plaintext records written before sealing pass through', async () => {
  const inner = createMemoryStore();
  const { sealer, calls } = fakeSealer();
  const store = createSealedStore(inner, sealer);
  inner.put(KEY, active(3, 'rt-legacy'));
  expect(await store.read(KEY)).toEqual(active(3, 'rt-legacy'));
  expect(calls.unseal).toBe(0);
  // The next write seals it.
  await store.compareAndSet(KEY, { generation: 3 }, active(4, 'rt-4'));
  expect(storedRefreshToken(inner.raw(KEY))).toMatch(new RegExp(`^${SEALED_PREFIX}`));
  const tombstone: StoredSession = { sessionKey: KEY, generation: 5, state: 'signed-out', cause: 'signed-out', updatedAt: 0 };
  await store.compareAndSet(KEY, { generation: 4 }, tombstone);
  expect(inner.raw(KEY)).toEqual(tombstone);
  expect(await store.compareAndSet(KEY, { generation: 5 }, active(6))).toEqual({ ok: true });
  expect(calls.seal).toBe(1);
});

test('repeated reads of one record unseal once (the round trip is to another process)', async () => {
  const inner = createMemoryStore();
  const { sealer, calls } = fakeSealer();
  const writer = createSealedStore(inner, sealer);
  await writer.compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'));
  expect(calls.unseal).toBe(0); // the writer knows what it sealed
  const reader = createSealedStore(inner, sealer);
  for (let i = 0; i < 5; i++) expect(await reader.read(KEY)).toEqual(active(1, 'rt-1'));
  expect(calls.unseal).toBe(1);
});

test('sealing fails: the rotated token is stored in plaintext rather than lost, and reported', async () => {
  const inner = createMemoryStore();
  const { sealer, fail } = fakeSealer();
  const problems: string[] = [];
  const store = createSealedStore(inner, sealer, { onSealingProblem: (p) => problems.push(p.kind) });
  fail.seal = new TokenHerdError(ErrorCode.SEALING_UNAVAILABLE, 'no keyring');
  expect(await store.compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'))).toEqual({ ok: true });
  expect(storedRefreshToken(inner.raw(KEY))).toBe('rt-1');
  expect(problems).toEqual(['stored-plaintext']);
});

test('a sealed value too long for the record bounds is stored in plaintext, not made unreadable', async () => {
  const inner = createMemoryStore();
  const problems: string[] = [];
  const store = createSealedStore(inner, { seal: async () => 'A'.repeat(20_000), unseal: async () => 'never' }, { onSealingProblem: (p) => problems.push(p.kind) });
  await store.compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'));
  expect(await store.read(KEY)).toEqual(active(1, 'rt-1'));
  expect(problems).toEqual(['stored-plaintext']);
});

test('unsealing fails for good (another key, no keychain): the refresh token is dropped, the access token kept', async () => {
  for (const code of [ErrorCode.UNSEAL_FAILED, ErrorCode.SEALING_UNAVAILABLE]) {
    const inner = createMemoryStore();
    const { sealer } = fakeSealer();
    await createSealedStore(inner, sealer).compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'));
    const problems: string[] = [];
    const other = fakeSealer();
    // A plain object with a code, as errors arrive after crossing the bridge.
    other.fail.unseal = { code, message: 'cannot' };
    const copied = createSealedStore(inner, other.sealer, { onSealingProblem: (p) => problems.push(p.kind) });
    expect(await copied.read(KEY)).toEqual(active(1));
    expect(problems).toEqual(['dropped-sealed-token']);
  }
});

test('unsealing fails otherwise (IPC down): the read rejects, so the coordinator reports TRANSIENT and keeps the session', async () => {
  const inner = createMemoryStore();
  const { sealer, fail } = fakeSealer();
  await createSealedStore(inner, sealer).compareAndSet(KEY, { generation: 0 }, active(1, 'rt-1'));
  fail.unseal = new Error('the main process is not answering');
  await expect(createSealedStore(inner, sealer).read(KEY)).rejects.toThrow(/not answering/);
  expect(storedRefreshToken(inner.raw(KEY))).toMatch(new RegExp(`^${SEALED_PREFIX}`));
});

test('compare-and-set passes the expected session id through: the old session writes nothing over a new sign-in (I10)', async () => {
  const inner = createMemoryStore();
  await expectSessionIdsChecked(createSealedStore(inner, fakeSealer().sealer), KEY, async () => inner.clear());
});
