import { expect, test } from '@playwright/test';
import { createDesktopAppBridge } from '../preload/bridges.js';
import { sealerFromBridge } from '../desktop/bridge.js';
import { SEALED_PREFIX, createSealedStore } from '../oauth/sealed-store.js';
import { createCoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode } from '../shared/errors.js';
import { resolveSettings } from '../shared/settings.js';
import { DesktopErrorCode } from '../desktop/errors.js';

import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryStore } from '../testing/memory.js';
import { createMemoryProvider } from '../testing/memory-provider.js';
import { APP_ORIGIN } from './app-protocol.js';
import { handleIpc } from './ipc.js';
import { createMainSealer, sealingStatus, type SafeStorageLike } from './sealing.js';
import { connectRenderer, createFakeIpcMain, createFakeSafeStorage, fakeEvent } from '../../test/electron/test-support.js';
import { createTrustRegistry } from './trust.js';

test.describe('when sealing counts as available', () => {
  const storage = (available: boolean, backend: string): SafeStorageLike => ({ ...createFakeSafeStorage({ available, backend }) });
  test('macOS Keychain and Windows DPAPI: available when safeStorage says so', () => {
    expect(sealingStatus(storage(true, 'unknown'), 'darwin')).toEqual({ available: true, backend: 'keychain' });
    expect(sealingStatus(storage(true, 'unknown'), 'win32')).toEqual({ available: true, backend: 'dpapi' });
    expect(sealingStatus(storage(false, 'unknown'), 'darwin')).toMatchObject({ available: false });
  });
  test("Linux: libsecret and KWallet count; the plaintext basic_text fallback and 'unknown' (before ready) do not", () => {
    for (const backend of ['gnome_libsecret', 'kwallet', 'kwallet5', 'kwallet6']) {
      expect(sealingStatus(storage(true, backend), 'linux')).toEqual({ available: true, backend });
    }
    expect(sealingStatus(storage(true, 'basic_text'), 'linux')).toMatchObject({ available: false, reason: expect.stringContaining('basic_text') });
    expect(sealingStatus(storage(true, 'unknown'), 'linux')).toMatchObject({ available: false });
    expect(sealingStatus(storage(false, 'gnome_libsecret'), 'linux')).toMatchObject({ available: false });
  });
  test('a throwing safeStorage is unavailable, not a crash', () => {
    const broken = { ...createFakeSafeStorage(), isEncryptionAvailable: () => { throw new Error('dbus'); } };
    expect(sealingStatus(broken, 'linux')).toMatchObject({ available: false });
  });
});

test.describe('the main sealer', () => {
  test('round trip; not deterministic; another key cannot open it (UNSEAL_FAILED); unavailable refuses (SEALING_UNAVAILABLE)', () => {
    const sealer = createMainSealer(createFakeSafeStorage(), 'linux');
    const a = sealer.seal('rt-secret');
    const b = sealer.seal('rt-secret');
    expect(a).not.toBe(b);
    expect(Buffer.from(a, 'base64').toString('latin1')).not.toContain('rt-secret');
    expect(sealer.unseal(a)).toBe('rt-secret');
    expect(sealer.unseal(b)).toBe('rt-secret');
    const otherMachine = createMainSealer(createFakeSafeStorage(), 'linux');
    expect(() => otherMachine.unseal(a)).toThrow(expect.objectContaining({ code: ErrorCode.UNSEAL_FAILED }));
    const plaintextLinux = createMainSealer(createFakeSafeStorage({ backend: 'basic_text' }), 'linux');
    expect(() => plaintextLinux.seal('x')).toThrow(expect.objectContaining({ code: ErrorCode.SEALING_UNAVAILABLE }));
    expect(() => plaintextLinux.unseal(a)).toThrow(expect.objectContaining({ code: ErrorCode.SEALING_UNAVAILABLE }));
  });
});

/**
 * The whole path as in the app, in Node: coordinators of N windows -> sealed store ->
 * preload bridge -> IPC (structured clone, sender checks) -> main sealer -> safeStorage.
 */
function world(options: { windows: number; safeStorage?: SafeStorageLike; store?: ReturnType<typeof createMemoryStore> }) {
  const clock = createManualClock();
  const locks = createMemoryLocks();
  const hub = createMemoryChannelHub();
  const store = options.store ?? createMemoryStore();
  const provider = createMemoryProvider({ clock, accessTokenTtlSeconds: 60 });
  const ipcMain = createFakeIpcMain();
  const trust = createTrustRegistry({ appOrigins: [APP_ORIGIN] });
  const mainSealer = createMainSealer(options.safeStorage ?? createFakeSafeStorage(), 'linux');
  const appOnly = (event: Parameters<typeof trust.isAppSender>[0]) => trust.isAppSender(event);
  handleIpc(ipcMain, 'tokenherd:seal', { trust: appOnly, handle: ({ text }) => ({ sealed: mainSealer.seal(text) }) });
  handleIpc(ipcMain, 'tokenherd:unseal', { trust: appOnly, handle: ({ sealed }) => ({ text: mainSealer.unseal(sealed) }) });
  const dropped: Array<{ readonly kind: string; readonly reason: string }> = [];
  const bridgeOf = (id: number) => createDesktopAppBridge(connectRenderer(ipcMain, fakeEvent(id, `${APP_ORIGIN}/index.html`)), []);
  trust.register(99, 'app');
  /** What a fresh window of this machine reads. */
  const openedStore = createSealedStore(store, sealerFromBridge(bridgeOf(99)));
  const windows = Array.from({ length: options.windows }, (_, i) => {
    trust.register(100 + i, 'app');
    const bridge = bridgeOf(100 + i);
    return createCoordinatorCore(
      resolveSettings({ sessionKey: 'k', refreshLeewaySeconds: 0 }),
      {
        lock: locks,
        channel: hub.open('tokenherd:k'),
        store: createSealedStore(store, sealerFromBridge(bridge), { onSealingProblem: (p) => dropped.push(p) }),
        clock,
        endpoint: provider.endpoint,
        random: () => 0.5,
      },
    );
  });
  return { clock, store, openedStore, provider, windows, dropped, expire: () => clock.advance(60_001) };
}

test('N windows with sealing: one refresh per expiry, the store only ever holds ciphertext, generations still advance by compare-and-set', async () => {
  const w = world({ windows: 6 });
  const signIn = w.provider.signIn();
  await w.windows[0]!.setSession(signIn);
  const seen = new Set<string>([String(signIn['refresh_token'])]);
  for (let expiry = 1; expiry <= 3; expiry++) {
    w.expire();
    const tokens = await Promise.all(w.windows.map((c) => c.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(w.provider.stats.requests).toBe(expiry);
    const raw = w.store.raw('k') as { generation: number; tokens: { refreshToken: string } };
    expect(raw.generation).toBe(1 + expiry);
    expect(raw.tokens.refreshToken.startsWith(SEALED_PREFIX)).toBe(true);
    // Unsealed by this machine's keychain: the refresh token the provider issued last, which is never in the raw record.
    const opened = await w.openedStore.read('k');
    const latest = opened?.state === 'active' ? opened.tokens.refreshToken : undefined;
    expect(latest).toMatch(/^rt-/);
    expect(seen.has(latest!)).toBe(false);
    seen.add(latest!);
    for (const refreshToken of seen) expect(JSON.stringify(raw)).not.toContain(refreshToken);
  }
  expect(w.provider.stats.revocations).toBe(0);
  expect(w.dropped).toEqual([]);
});

test('a profile copied to another machine (another keychain key): the session ends once, clearly, and no refresh token is sent', async () => {
  const store = createMemoryStore();
  const home = world({ windows: 1, store });
  await home.windows[0]!.setSession(home.provider.signIn());
  const elsewhere = world({ windows: 2, store, safeStorage: createFakeSafeStorage() });
  // The keychain of this machine cannot open the sealed token (UNSEAL_FAILED): each read of the sealed record drops it, once.
  const unsealFailed = { kind: 'dropped-sealed-token', reason: expect.stringContaining('could not decrypt') };
  // The access token still works until it expires...
  expect(await elsewhere.windows[0]!.getAccessToken()).toMatch(/^at-/);
  expect(elsewhere.dropped).toEqual([unsealFailed]);
  elsewhere.expire();
  // ...then there is nothing to refresh with: SESSION_EXPIRED, and the provider never saw a request.
  await expect(elsewhere.windows[0]!.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
  await expect(elsewhere.windows[1]!.getAccessToken()).rejects.toMatchObject({ code: ErrorCode.SESSION_EXPIRED });
  expect(elsewhere.provider.stats.requests).toBe(0);
  // One more read, under the lock before the refresh that cannot happen; window 1 then reads the expiry tombstone, with nothing sealed in it.
  expect(elsewhere.dropped).toEqual([unsealFailed, unsealFailed]);
  expect(await elsewhere.openedStore.read('k')).toMatchObject({ state: 'signed-out', cause: 'expired' });
});

test('an untrusted renderer cannot use the main process as a decryption oracle', async () => {
  const ipcMain = createFakeIpcMain();
  const trust = createTrustRegistry({ appOrigins: [APP_ORIGIN] });
  const mainSealer = createMainSealer(createFakeSafeStorage(), 'darwin');
  handleIpc(ipcMain, 'tokenherd:unseal', { trust: (e) => trust.isAppSender(e), handle: ({ sealed }) => ({ text: mainSealer.unseal(sealed) }) });
  const sealed = mainSealer.seal('rt-secret');
  trust.register(5, 'embedded');
  const view = createDesktopAppBridge(connectRenderer(ipcMain, fakeEvent(5, 'https://evil.example/')), []);
  expect(await view.unseal(sealed)).toMatchObject({ ok: false, code: DesktopErrorCode.UNTRUSTED_SENDER });
});
