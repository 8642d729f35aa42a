import { expect } from '@playwright/test';
import type { SessionStore } from '../../src/shared/ports.js';
import type { StoredSession } from '../../src/shared/session.js';

/** An active record of session `sessionId` at `generation`. */
function active(sessionKey: string, generation: number, sessionId: string): StoredSession {
  return {
    sessionKey,
    sessionId,
    generation,
    state: 'active',
    cause: generation === 1 ? 'signed-in' : 'rotated',
    tokens: { accessToken: `at-${sessionId}-${generation}`, refreshToken: `rt-${sessionId}-${generation}`, expiresAt: Date.now() + 60_000 },
    updatedAt: Date.now(),
  };
}

/**
 * I10 on one store: a compare-and-set about one session never lands on another that
 * reached the same generation (storage cleared, then a new sign-in). `clear` empties the
 * store behind its back, as a user clearing site data or deleting the file would.
 */
export async function expectSessionIdsChecked(store: SessionStore, sessionKey: string, clear: () => Promise<void>): Promise<void> {
  const old = active(sessionKey, 1, 'old-session');
  expect(await store.compareAndSet(sessionKey, { generation: 0 }, old)).toEqual({ ok: true });
  await clear();
  const fresh = active(sessionKey, 1, 'new-session');
  expect(await store.compareAndSet(sessionKey, { generation: 0 }, fresh)).toEqual({ ok: true });
  const rotated = active(sessionKey, 2, 'old-session');
  // The old session's writer expects generation 1 of its own session: refused, and shown the new one.
  expect(await store.compareAndSet(sessionKey, { generation: 1, sessionId: 'old-session' }, rotated)).toEqual({ ok: false, current: fresh });
  expect(await store.compareAndSet(sessionKey, { generation: 1 }, rotated)).toEqual({ ok: false, current: fresh });
  expect(await store.read(sessionKey)).toEqual(fresh);
  const next = active(sessionKey, 2, 'new-session');
  expect(await store.compareAndSet(sessionKey, { generation: 1, sessionId: 'new-session' }, next)).toEqual({ ok: true });
  expect(await store.read(sessionKey)).toEqual(next);
}
