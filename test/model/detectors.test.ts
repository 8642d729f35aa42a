/**
 * Each property of the model can fail: its detector, fed the event it forbids
 * directly (no core involved), reports it. regressions.test.ts shows the rest
 * failing on the real core.
 */
import { expect, test } from '@playwright/test';
import fc from 'fast-check';
import { KEY, createWorld, type ModelSettings, type World } from './world.js';

const settings: ModelSettings = { windows: 2, profile: 'oidc', accessTtlSeconds: 300, refreshTtlSeconds: undefined, leewaySeconds: 0, attempts: 1, autoRefresh: false };

function world(of: ModelSettings = settings): World {
  const created = createWorld(of, fc.sample(fc.scheduler(), { numRuns: 1, seed: 1 })[0]!);
  created.open(0);
  created.open(1);
  return created;
}

const signal = new AbortController().signal;

test.describe('the model’s detectors', () => {
  test('one-refresher: two requests of one grant in flight', () => {
    const w = world();
    void w.endpointFor(0, 1).refresh('rt-1-1', { signal });
    void w.endpointFor(1, 1).refresh('rt-1-1', { signal });
    expect(() => w.check()).toThrow(/\[one-refresher\]/);
  });

  test('no-reuse: a refresh token sent again after the provider answered it', async () => {
    const w = world();
    const response = w.server.signIn();
    const refreshToken = response['refresh_token'] as string;
    const first = w.endpointFor(0, 1).refresh(refreshToken, { signal });
    w.answer(w.pending()[0]!, { kind: 'success' });
    expect((await first).kind).toBe('tokens');
    w.check();
    void w.endpointFor(1, 1).refresh(refreshToken, { signal });
    expect(() => w.check()).toThrow(/\[no-reuse\]/);
  });

  test('one-refresh-per-expiry: with auto refresh, a request nobody asked for while the stored token is far from due', async () => {
    const w = world({ ...settings, autoRefresh: true });
    w.signIn(0);
    await w.scheduler.waitIdle();
    w.check();
    const stored = w.store.raw(KEY) as { tokens: { refreshToken: string } };
    void w.endpointFor(1, 1).refresh(stored.tokens.refreshToken, { signal });
    expect(() => w.check()).toThrow(/\[one-refresh-per-expiry\] w1 sent a scheduled refresh/);
    for (const window of w.windows) window.core.close();
  });

  test('outlives-close: a closed window writes', async () => {
    const w = world();
    w.close(0);
    void w.storeFor(0, 1).compareAndSet(KEY, { generation: 0 }, { sessionKey: KEY, generation: 1, state: 'signed-out', cause: 'signed-out', updatedAt: 0 });
    expect(() => w.check()).toThrow(/\[outlives-close\]/);
  });

  test('store-valid: a record that fails validation', () => {
    const w = world();
    w.store.put(KEY, { sessionKey: KEY, generation: 1, state: 'active', cause: 'signed-in', tokens: { accessToken: 'a', expiresAt: null }, updatedAt: 0 });
    expect(() => w.check()).toThrow(/\[store-valid\]/);
  });

  test('caller-result: an uncoded rejection, and a token the provider never issued', async () => {
    const uncoded = world();
    uncoded.call(0, 'probe', 10, Promise.reject(new TypeError('boom')));
    await expect(uncoded.quiesce()).rejects.toThrow(/\[caller-result\].*uncoded/);
    const forged = world();
    forged.call(0, 'probe', 10, Promise.resolve('forged'));
    await expect(forged.quiesce()).rejects.toThrow(/\[caller-result\].*never issued/);
  });

  test('liveness and outlives-close: a call that never settles', async () => {
    const open = world();
    open.call(0, 'probe', 10, new Promise(() => {}));
    await expect(open.quiesce()).rejects.toThrow(/\[liveness\]/);
    const closed = world();
    closed.call(0, 'probe', 10, new Promise(() => {}));
    closed.close(0);
    await expect(closed.quiesce()).rejects.toThrow(/\[outlives-close\]/);
  });

  test('no-unhandled-rejection: what the process listener of runModel reports', () => {
    // Raising a real one here would also fail this test through Playwright's own listener (as it would any model test).
    const w = world();
    w.unhandled(new Error('leaked'));
    expect(() => w.check()).toThrow(/\[no-unhandled-rejection\] a promise rejected unhandled: Error: leaked/);
  });
});
