import { expect, test } from '@playwright/test';
import { createDesktopAppBridge } from '../preload/bridges.js';
import { serveTokenRequests } from '../desktop/bridge.js';
import { createCoordinatorCore } from '../shared/coordinator.js';
import { BROKER_REQUEST_CHANNEL, type BrokerRequest } from '../desktop/ipc-contract.js';
import { resolveSettings } from '../shared/settings.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { createManualClock, createMemoryChannelHub, createMemoryLocks, createMemoryStore } from '../testing/memory.js';
import { createMemoryProvider } from '../testing/memory-provider.js';
import { APP_ORIGIN } from './app-protocol.js';
import { createTokenBroker, parseBrokerConfig } from './broker.js';
import { handleIpc } from './ipc.js';
import { createRendererTokenSource, planBackgroundWindow, type ResponderLike } from './renderer-token-source.js';
import { connectRenderer, createFakeIpcMain, fakeEvent } from '../../test/electron/test-support.js';
import { createTrustRegistry } from './trust.js';

/** A window that records what it was sent. */
function responder(id: number) {
  const sent: BrokerRequest[] = [];
  let destroyed = false;
  const r: ResponderLike & { sent: BrokerRequest[]; destroy(): void } = {
    id,
    sent,
    isDestroyed: () => destroyed,
    send: (channel, request) => {
      expect(channel).toBe(BROKER_REQUEST_CHANNEL);
      sent.push(request);
    },
    destroy: () => void (destroyed = true),
  };
  return r;
}

function source() {
  const clock = createManualClock();
  let n = 0;
  return { clock, source: createRendererTokenSource({ clock, timeoutMs: 5_000, newId: () => `r${++n}` }) };
}

test.describe('request and answer', () => {
  test('a request goes to a window serving its session key, with an id; the answer with that id from that window settles it', async () => {
    const { source: s } = source();
    const w = responder(1);
    s.setReady(w, 'k', true, 'window');
    const token = s.requestToken('k', { minValiditySeconds: 30 });
    expect(w.sent).toEqual([{ id: 'r1', sessionKey: 'k', minValiditySeconds: 30 }]);
    expect(s.deliver(2, { id: 'r1', ok: true, accessToken: 'forged' })).toBe(false); // another window cannot answer for it
    expect(s.deliver(1, { id: 'r9', ok: true, accessToken: 'x' })).toBe(false); // no such request
    expect(s.deliver(1, { id: 'r1', ok: true, accessToken: 'at-1' })).toBe(true);
    expect(await token).toBe('at-1');
    expect(s.deliver(1, { id: 'r1', ok: true, accessToken: 'again' })).toBe(false); // answered already
  });

  test('an error answer keeps its code', async () => {
    const { source: s } = source();
    s.setReady(responder(1), 'k', true, 'window');
    const token = s.requestToken('k', {});
    s.deliver(1, { id: 'r1', ok: false, code: 'SESSION_EXPIRED', message: 'sign in again' });
    await expect(token).rejects.toMatchObject({ code: 'SESSION_EXPIRED', message: 'sign in again' });
  });

  test('with no window serving the key the request waits, and goes out when one becomes ready', async () => {
    const { source: s } = source();
    const other = responder(1);
    s.setReady(other, 'other-key', true, 'window');
    const token = s.requestToken('k', {});
    expect(s.waiting()).toBe(1);
    expect(other.sent).toEqual([]);
    const w = responder(2);
    s.setReady(w, 'k', true, 'window');
    expect(s.waiting()).toBe(0);
    expect(s.isBusy(2)).toBe(true);
    s.deliver(2, { id: w.sent[0]!.id, ok: true, accessToken: 'at' });
    expect(await token).toBe('at');
    expect(s.isBusy(2)).toBe(false);
  });

  test('the window asked closes before answering: the request goes to another window; after maxAttempts it fails', async () => {
    const { source: s } = source();
    const a = responder(1);
    const b = responder(2);
    s.setReady(a, 'k', true, 'window');
    s.setReady(b, 'k', true, 'window');
    const token = s.requestToken('k', {});
    const first = b.sent.length ? b : a; // the most recently ready window is asked first
    expect(first).toBe(b);
    s.forget(b.id);
    expect(a.sent).toHaveLength(1);
    s.deliver(1, { id: a.sent[0]!.id, ok: true, accessToken: 'at' });
    expect(await token).toBe('at');

    const ws = [responder(10), responder(11), responder(12), responder(13)];
    ws.forEach((w) => s.setReady(w, 'x', true, 'window'));
    const doomed = s.requestToken('x', {});
    for (const w of [...ws].reverse()) s.forget(w.id);
    await expect(doomed).rejects.toMatchObject({ code: DesktopErrorCode.BROKER_TIMEOUT });
  });

  test('a destroyed window is skipped', async () => {
    const { source: s } = source();
    const dead = responder(1);
    const alive = responder(2);
    s.setReady(alive, 'k', true, 'window');
    s.setReady(dead, 'k', true, 'window');
    dead.destroy();
    void s.requestToken('k', {});
    expect(dead.sent).toEqual([]);
    expect(alive.sent).toHaveLength(1);
  });

  test('app windows are asked before the background window', () => {
    const { source: s } = source();
    const bg = responder(1);
    const win = responder(2);
    s.setReady(win, 'k', true, 'window');
    s.setReady(bg, 'k', true, 'background');
    void s.requestToken('k', {});
    expect(win.sent).toHaveLength(1);
    expect(bg.sent).toHaveLength(0);
  });

  test('every request has a deadline (BROKER_TIMEOUT), and close() rejects the rest and clears the timers', async () => {
    const { clock, source: s } = source();
    const late = s.requestToken('k', {});
    clock.advance(5_000);
    await expect(late).rejects.toMatchObject({ code: DesktopErrorCode.BROKER_TIMEOUT });
    const pending = s.requestToken('k', {});
    s.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    expect(clock.pendingTimers()).toBe(0);
    await expect(s.requestToken('k', {})).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

test.describe('the hidden background window', () => {
  const cases: Array<[Parameters<typeof planBackgroundWindow>[0], string]> = [
    [{ appWindows: 0, backgroundOpen: false, waitingRequests: 1, backgroundBusy: false }, 'open'],
    [{ appWindows: 0, backgroundOpen: false, waitingRequests: 0, backgroundBusy: false }, 'keep'], // nothing wanted: no window
    [{ appWindows: 0, backgroundOpen: true, waitingRequests: 1, backgroundBusy: false }, 'keep'], // opening already
    [{ appWindows: 0, backgroundOpen: true, waitingRequests: 0, backgroundBusy: false }, 'keep'],
    [{ appWindows: 1, backgroundOpen: true, waitingRequests: 0, backgroundBusy: false }, 'close'],
    [{ appWindows: 1, backgroundOpen: true, waitingRequests: 0, backgroundBusy: true }, 'keep'], // never mid-refresh
    [{ appWindows: 1, backgroundOpen: false, waitingRequests: 3, backgroundBusy: false }, 'keep'], // the app window will answer
  ];
  for (const [state, action] of cases) {
    test(`${JSON.stringify(state)} -> ${action}`, () => expect(planBackgroundWindow(state)).toBe(action));
  }
});

/**
 * The broker chain as in the app, in Node: main-process broker -> renderer token source
 * -> IPC send -> app preload bridge -> the window's coordinator -> IPC answer (sender- and
 * shape-checked) -> broker. N windows coordinate on memory locks and one store.
 */
test('the main process and N windows ask at once after expiry: one refresh, one token, through the preload bridge', async () => {
  const clock = createManualClock();
  const locks = createMemoryLocks();
  const hub = createMemoryChannelHub();
  const store = createMemoryStore();
  const provider = createMemoryProvider({ clock, accessTokenTtlSeconds: 60 });
  const ipcMain = createFakeIpcMain();
  const trust = createTrustRegistry({ appOrigins: [APP_ORIGIN] });
  const rejected: string[] = [];
  const tokenSource = createRendererTokenSource({ timeoutMs: 60_000 });
  const broker = createTokenBroker(parseBrokerConfig({ providers: [{ id: 'demo', sessionKey: 'k' }] }), tokenSource);
  const renderers = new Map<number, ReturnType<typeof connectRenderer>>();
  const responderOf = (id: number): ResponderLike => ({
    id,
    isDestroyed: () => false,
    send: (channel, request) => renderers.get(id)!.emit(channel, request),
  });
  const appOnly = (event: Parameters<typeof trust.isAppSender>[0]) => trust.isAppSender(event);
  handleIpc(ipcMain, 'tokenherd:broker-ready', {
    trust: appOnly,
    handle: ({ sessionKey, ready }, event) => (tokenSource.setReady(responderOf(event.sender.id), sessionKey, ready, 'window'), null),
  });
  handleIpc(ipcMain, 'tokenherd:broker-answer', {
    trust: appOnly,
    onProblem: (_c, p) => rejected.push(p),
    handle: (answer, event) => (tokenSource.deliver(event.sender.id, answer), null),
  });

  const windows = Array.from({ length: 5 }, (_, i) => {
    const id = 200 + i;
    trust.register(id, 'app');
    const renderer = connectRenderer(ipcMain, fakeEvent(id, `${APP_ORIGIN}/index.html`));
    renderers.set(id, renderer);
    const core = createCoordinatorCore(
      resolveSettings({ sessionKey: 'k', refreshLeewaySeconds: 0 }),
      { lock: locks, channel: hub.open('tokenherd:k'), store, clock, endpoint: provider.endpoint, random: () => 0.5 },
    );
    serveTokenRequests(createDesktopAppBridge(renderer, []), 'k', core);
    return core;
  });
  await new Promise((r) => setImmediate(r)); // the windows' broker-ready calls land

  await expect(broker.getAccessToken('demo')).rejects.toMatchObject({ code: 'NOT_SIGNED_IN' });
  await windows[0]!.setSession(provider.signIn());
  for (let expiry = 1; expiry <= 2; expiry++) {
    clock.advance(60_001);
    const tokens = await Promise.all([...windows.map((w) => w.getAccessToken()), broker.getAccessToken('demo'), broker.getAccessToken('demo')]);
    expect(new Set(tokens).size).toBe(1);
    expect(provider.stats.requests).toBe(expiry);
  }

  // A window's renderer cannot slip a refresh token into an answer: the shape check refuses it.
  const hostile = renderers.get(200)!;
  expect(await hostile.invoke('tokenherd:broker-answer', { id: 'r1', ok: true, accessToken: 'at', refreshToken: 'rt' })).toMatchObject({
    code: DesktopErrorCode.INVALID_PAYLOAD,
  });
  // Nor can anything but an app window answer.
  trust.register(300, 'embedded');
  const view = connectRenderer(ipcMain, fakeEvent(300, 'https://evil.example/'));
  expect(await view.invoke('tokenherd:broker-answer', { id: 'r1', ok: true, accessToken: 'forged' })).toMatchObject({ code: DesktopErrorCode.UNTRUSTED_SENDER });
  expect(rejected).toEqual([expect.stringContaining('malformed'), expect.stringContaining('untrusted')]);
  windows.forEach((w) => w.close());
  tokenSource.close();
});
