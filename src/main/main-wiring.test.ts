/**
 * The built main process (dist/electron/main.cjs, exactly what Electron runs)
 * loaded in Node against a stand-in `electron` module: checks the wiring that
 * the module tests cannot, i.e. that main.ts really applies the secure
 * defaults, the trust checks, the broker and the background window. What only
 * a real Electron can show (Chromium honouring all this) is in
 * e2e/electron/, which runs where the Electron binary exists.
 */
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { expect, test } from '@playwright/test';
import { buildElectron } from '../../dev/build-electron.js';
import { BROKER_REQUEST_CHANNEL, IPC_CHANNELS, type BrokerRequest } from '../desktop/ipc-contract.js';
import { ErrorCode } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { createFakeElectron, type FakeElectron, type FakeWebContents } from '../../test/electron/fake-electron.js';
import { createFakeSafeStorage } from '../../test/electron/test-support.js';

const MAIN = fileURLToPath(new URL('../../dist/electron/main.cjs', import.meta.url));
const require = createRequire(import.meta.url);
const ISSUER = 'http://127.0.0.1:9400';
const EMBEDDED = 'http://127.0.0.1:9401/';

interface MainHooks {
  getAccessToken(provider: string): Promise<string>;
  openAppWindow(): number;
  toggleEmbeddedView(index?: number): number | undefined;
  backgroundOpen(): boolean;
  secondInstances(): number;
}

test.beforeAll(async () => {
  test.setTimeout(120_000);
  await buildElectron();
});

/** What the main process logged (console.warn), kept out of the test output. */
let logs: string[] = [];
const { warn } = console;
test.beforeEach(() => {
  logs = [];
  console.warn = (...args: unknown[]) => void logs.push(args.join(' '));
});
test.afterEach(() => {
  console.warn = warn;
  delete (globalThis as { tokenherdMain?: unknown }).tokenherdMain;
});

/** Loads a fresh copy of the main bundle with `electron` resolved to `fake`, and lets the app become ready. */
async function launch(fake: FakeElectron, env: Record<string, string> = {}): Promise<MainHooks> {
  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
  const load = loader._load;
  const saved = { ...process.env };
  Object.assign(process.env, { TOKENHERD_E2E: '1', TOKENHERD_ISSUER: ISSUER, TOKENHERD_EMBEDDED_URL: EMBEDDED, ...env });
  loader._load = function (request, ...rest) {
    return request === 'electron' ? fake.module : load.call(this, request, ...rest);
  };
  try {
    delete require.cache[MAIN];
    require(MAIN);
  } finally {
    loader._load = load;
    process.env = saved;
  }
  fake.app.readyResolve?.();
  await settle();
  return (globalThis as unknown as { tokenherdMain: MainHooks }).tokenherdMain;
}

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
const eventOf = (contents: FakeWebContents) => ({ sender: contents, senderFrame: contents.mainFrame() });
const invoke = (fake: FakeElectron, contents: FakeWebContents, channel: string, payload: unknown) => fake.ipcMain.invoke(eventOf(contents), channel, payload);

/** Answers the broker requests a window receives from its coordinator stand-in. */
async function answerPending(fake: FakeElectron, contents: FakeWebContents, accessToken: string): Promise<number> {
  const requests = contents.sent.splice(0).filter((s) => s.channel === BROKER_REQUEST_CHANNEL);
  for (const { args } of requests) {
    const { id } = args[0] as BrokerRequest;
    expect(await invoke(fake, contents, 'tokenherd:broker-answer', { id, ok: true, accessToken })).toEqual({ ok: true, value: null });
  }
  return requests.length;
}

test('before ready: sandbox for every renderer, the privileged app scheme, the single-instance lock', async () => {
  const fake = createFakeElectron();
  await launch(fake);
  expect(fake.app.calls.slice(0, 2)).toEqual(['enableSandbox', 'requestSingleInstanceLock']);
  expect(logs).toEqual([expect.stringMatching(/^\[tokenherd\] refresh tokens are sealed at rest \(/)]);
  expect(fake.protocol.privileged).toEqual([{ scheme: 'tokenherd', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
});

test('a second launch of the same profile quits at once without opening anything', async () => {
  const fake = createFakeElectron({ singleInstanceLock: false });
  await launch(fake, { TOKENHERD_USER_DATA_DIR: '/tmp/profile-b' });
  // The profile is chosen before the lock is taken: the lock is per userData directory.
  expect(fake.app.calls.slice(0, 4)).toEqual(['enableSandbox', 'setPath userData /tmp/profile-b', 'requestSingleInstanceLock', 'quit']);
  expect(fake.windows).toHaveLength(0);
  expect(fake.ipcMain.channels()).toEqual([]);
});

test('app windows: secure webPreferences, the built preload, loaded from the app scheme; every contract channel handled', async () => {
  const fake = createFakeElectron();
  await launch(fake, { TOKENHERD_WINDOWS: '3' });
  expect(fake.windows).toHaveLength(3);
  for (const win of fake.windows) {
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false });
    expect(existsSync(String(win.options.webPreferences?.['preload']))).toBe(true);
    expect(win.options.webPreferences?.['partition']).toBeUndefined(); // one session: shared locks, channel, IndexedDB
    expect(win.webContents.loaded[0]).toMatch(/^tokenherd:\/\/app\/index\.html\?issuer=http%3A%2F%2F127\.0\.0\.1%3A9400&/);
  }
  expect(fake.ipcMain.channels().sort()).toEqual([...IPC_CHANNELS].sort());
});

test('permissions: every session the app uses refuses every request, from an app window, an embedded view and an untrusted origin alike', async () => {
  const fake = createFakeElectron();
  const main = await launch(fake, { TOKENHERD_WINDOWS: '1' });
  const app = fake.windows[0]!.webContents;
  const viewId = main.toggleEmbeddedView(0);
  const view = fake.views.find((v) => v.webContents.id === viewId)!.webContents;
  /** Electron's callback answers, in order; the handler must answer each request exactly once, at once. */
  const answers = (partition: string, contents: FakeWebContents, permission: string, requestingUrl: string): boolean[] => {
    const answered: boolean[] = [];
    fake.sessions.get(partition)!.permissionRequestHandler!(contents, permission, (granted: boolean) => answered.push(granted), { requestingUrl, isMainFrame: true });
    return answered;
  };
  // The app needs no permission, so none is granted; the harmless ones are refused as well as the powerful ones.
  const permissions = ['clipboard-sanitized-write', 'fullscreen', 'notifications', 'media', 'geolocation', 'openExternal'];
  for (const permission of permissions) {
    expect(answers('default', app, permission, 'tokenherd://app/index.html'), permission).toEqual([false]);
    expect(answers('persist:tokenherd-embedded', view, permission, EMBEDDED), permission).toEqual([false]);
    expect(answers('default', app, permission, 'https://evil.example/'), permission).toEqual([false]);
    expect(answers('persist:tokenherd-embedded', view, permission, 'https://evil.example/'), permission).toEqual([false]);
  }
  // The sign-in window's session exists from ready on, before any sign-in, and is hardened the same way.
  expect(answers('tokenherd-sign-in', app, 'notifications', `${ISSUER}/auth`)).toEqual([false]);
  expect([...fake.sessions.keys()].sort()).toEqual(['default', 'persist:tokenherd-embedded', 'tokenherd-sign-in']);
});

test('the app scheme serves the built pages with the CSP, and nothing outside them', async () => {
  const fake = createFakeElectron();
  await launch(fake);
  const handle = fake.protocol.handlers.get('tokenherd')!;
  const page = await handle(new Request('tokenherd://app/index.html'));
  expect(page.status).toBe(200);
  expect(page.headers.get('content-security-policy')).toContain(`connect-src 'self' ${ISSUER}`);
  expect(await page.text()).toContain('<script type="module"');
  const script = (await (await handle(new Request('tokenherd://app/'))).text()).match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
  expect((await handle(new Request(`tokenherd://app${script}`))).headers.get('content-type')).toContain('javascript');
  expect((await handle(new Request('tokenherd://app/..%2f..%2fpackage.json'))).status).toBe(400);
  expect((await handle(new Request('tokenherd://app/missing.js'))).status).toBe(404);
});

test('IPC: an app window may seal; an unregistered WebContents, a navigated window and an embedded view may not', async () => {
  const fake = createFakeElectron();
  const main = await launch(fake);
  const [win] = fake.windows;
  const sealed = await invoke(fake, win!.webContents, 'tokenherd:seal', { text: 'rt-1' });
  expect(sealed).toMatchObject({ ok: true, value: { sealed: expect.any(String) } });
  expect(await invoke(fake, win!.webContents, 'tokenherd:unseal', (sealed as { value: { sealed: string } }).value)).toEqual({ ok: true, value: { text: 'rt-1' } });
  expect(await invoke(fake, win!.webContents, 'tokenherd:seal', { text: 'rt', extra: 1 })).toMatchObject({ code: DesktopErrorCode.INVALID_PAYLOAD });

  const stranger = new fake.module.BrowserWindow({}); // not created by the app's own code paths
  await stranger.loadURL('tokenherd://app/index.html');
  expect(await invoke(fake, stranger.webContents, 'tokenherd:seal', { text: 'x' })).toMatchObject({ code: DesktopErrorCode.UNTRUSTED_SENDER });
  win!.webContents.url = 'https://evil.example/';
  expect(await invoke(fake, win!.webContents, 'tokenherd:seal', { text: 'x' })).toMatchObject({ code: DesktopErrorCode.UNTRUSTED_SENDER });
  const viewId = main.toggleEmbeddedView(1);
  const view = fake.views.find((v) => v.webContents.id === viewId)!;
  await view.webContents.loadURL(`${EMBEDDED}`);
  expect(await invoke(fake, view.webContents, 'tokenherd:unseal', { sealed: 'AAAA' })).toMatchObject({ code: DesktopErrorCode.UNTRUSTED_SENDER });
  expect(logs.filter((line) => line.includes('untrusted sender'))).toHaveLength(3); // refusals are logged
});

test('navigation and window.open: app windows stay on the app, open app windows or https externally; no <webview>', async () => {
  const fake = createFakeElectron();
  await launch(fake, { TOKENHERD_WINDOWS: '1' });
  const contents = fake.windows[0]!.webContents;
  const navigate = (url: string) => {
    let prevented = false;
    contents.emit('will-navigate', { url, preventDefault: () => (prevented = true) });
    return prevented;
  };
  expect(navigate('https://evil.example/')).toBe(true);
  expect(navigate(`${ISSUER}/auth`)).toBe(true); // sign-in never happens inside an app window
  expect(navigate('tokenherd://app/index.html?reload')).toBe(false);
  expect(contents.windowOpenHandler!({ url: 'tokenherd://app/index.html' })).toEqual({ action: 'deny' });
  expect(fake.windows).toHaveLength(2); // opened by the main process, with its own preferences
  contents.windowOpenHandler!({ url: 'https://docs.example.com/' });
  contents.windowOpenHandler!({ url: 'file:///etc/passwd' });
  expect(fake.shell.opened).toEqual(['https://docs.example.com/']);
  let attached = true;
  contents.emit('will-attach-webview', { preventDefault: () => (attached = false) });
  expect(attached).toBe(false);
});

test('the broker: the main process gets a token from a ready app window; with none open, a hidden background window answers', async () => {
  const fake = createFakeElectron();
  const main = await launch(fake, { TOKENHERD_WINDOWS: '2' });
  const [a, b] = fake.windows;
  expect(await invoke(fake, a!.webContents, 'tokenherd:broker-ready', { sessionKey: 'demo', ready: true })).toEqual({ ok: true, value: null });
  const token = main.getAccessToken('demo');
  await settle();
  expect(await answerPending(fake, a!.webContents, 'at-1')).toBe(1);
  expect(await token).toBe('at-1');
  // Only the window asked can answer, with the id it was given.
  const next = main.getAccessToken('demo');
  await settle();
  const [request] = a!.webContents.sent.filter((s) => s.channel === BROKER_REQUEST_CHANNEL);
  const { id } = request!.args[0] as BrokerRequest;
  await invoke(fake, b!.webContents, 'tokenherd:broker-answer', { id, ok: true, accessToken: 'forged' });
  expect(await answerPending(fake, a!.webContents, 'at-2')).toBe(1);
  expect(await next).toBe('at-2');

  a!.close();
  b!.close();
  await settle();
  expect(main.backgroundOpen()).toBe(false); // nothing wanted a token: no window
  const later = main.getAccessToken('demo');
  await settle();
  expect(main.backgroundOpen()).toBe(true);
  const background = fake.windows.at(-1)!;
  expect(background.options.show).toBe(false);
  expect(background.options.webPreferences).toMatchObject({ sandbox: true, contextIsolation: true, backgroundThrottling: false });
  expect(background.options.webPreferences?.['partition']).toBeUndefined(); // the app windows' session
  expect(background.options.webPreferences?.['additionalArguments']).toContain('--tokenherd-role=background');
  expect(background.webContents.loaded[0]).toContain('poll=0');
  await invoke(fake, background.webContents, 'tokenherd:broker-ready', { sessionKey: 'demo', ready: true });
  expect(await answerPending(fake, background.webContents, 'at-3')).toBe(1);
  expect(await later).toBe('at-3');
  // An app window opens: the idle background window is closed.
  main.openAppWindow();
  await settle();
  expect(background.destroyed).toBe(true);
  expect(main.backgroundOpen()).toBe(false);
});

test('an embedded view: its own partition and preload; its requests get the header for the allowlisted origin only; its token call is origin-checked', async () => {
  const fake = createFakeElectron();
  const main = await launch(fake, { TOKENHERD_WINDOWS: '1' });
  const host = fake.windows[0]!;
  await invoke(fake, host.webContents, 'tokenherd:broker-ready', { sessionKey: 'demo', ready: true });
  const viewId = main.toggleEmbeddedView(0);
  const view = fake.views.find((v) => v.webContents.id === viewId)!;
  expect(view.options.webPreferences).toMatchObject({ partition: 'persist:tokenherd-embedded', sandbox: true, contextIsolation: true, nodeIntegration: false });
  expect(String(view.options.webPreferences?.['preload'])).toMatch(/preload-embedded\.cjs$/);
  expect(view.webContents.loaded).toEqual([EMBEDDED]);
  expect(host.contentView.children).toContain(view);

  const embedded = fake.sessions.get('persist:tokenherd-embedded')!;
  const beforeSend = embedded.webRequest.hooks.get('onBeforeSendHeaders')!.listener!;
  const send = (url: string, id: number) =>
    new Promise<Record<string, string>>((resolve) => {
      beforeSend({ id, url, requestHeaders: { Accept: '*/*' } }, (response: { requestHeaders: Record<string, string> }) => resolve(response.requestHeaders));
    });
  const toApi = send(`${ISSUER}/me`, 1);
  await settle();
  await answerPending(fake, host.webContents, 'at-view');
  expect(await toApi).toEqual({ Accept: '*/*', Authorization: 'Bearer at-view' });
  expect(await send('http://127.0.0.1:9999/other', 2)).toEqual({ Accept: '*/*' });

  const tokenCall = invoke(fake, view.webContents, 'tokenherd:view-access-token', { provider: 'demo' });
  await settle();
  await answerPending(fake, host.webContents, 'at-view');
  expect(await tokenCall).toEqual({ ok: true, value: { accessToken: 'at-view' } });
  view.webContents.url = 'https://evil.example/';
  expect(await invoke(fake, view.webContents, 'tokenherd:view-access-token', { provider: 'demo' })).toMatchObject({ code: DesktopErrorCode.NOT_ALLOWED });
  expect(host.webContents.sent).toEqual([]); // refused before any window was asked

  let prevented = false;
  view.webContents.emit('will-navigate', { url: 'tokenherd://app/index.html', preventDefault: () => (prevented = true) });
  expect(prevented).toBe(true);
  main.toggleEmbeddedView(0);
  expect(view.webContents.destroyed).toBe(true);
  expect(host.contentView.children).not.toContain(view);
});

test('sign-in: the system browser opens the request with a loopback port; its one answer completes the call; a closed window gives up', async () => {
  const fake = createFakeElectron();
  await launch(fake, { TOKENHERD_WINDOWS: '1' });
  expect(logs.filter((line) => line.includes('8252'))).toEqual([]);
  const app = fake.windows[0]!.webContents;
  const redirect = 'http://127.0.0.1/tokenherd-desktop/callback';
  const url = `${ISSUER}/auth?${new URLSearchParams({ client_id: 'c', redirect_uri: redirect, state: 's', code_challenge: 'x', code_challenge_method: 'S256' })}`;
  expect(await invoke(fake, app, 'tokenherd:sign-in', { authorizationUrl: url.replace(ISSUER, 'https://evil.example') })).toMatchObject({
    code: DesktopErrorCode.NOT_ALLOWED,
  });
  const windows = fake.windows.length;
  const result = invoke(fake, app, 'tokenherd:sign-in', { authorizationUrl: url });
  await expect.poll(() => fake.shell.opened.length).toBe(1);
  expect(fake.windows.length).toBe(windows); // no window of the app shows the provider's pages
  const listening = new URL(new URL(fake.shell.opened[0]!).searchParams.get('redirect_uri')!);
  expect([listening.hostname, listening.pathname, Number(listening.port) > 0]).toEqual(['127.0.0.1', '/tokenherd-desktop/callback', true]);
  expect((await fetch(`${listening.href}?code=abc&state=s`)).status).toBe(200);
  expect(await result).toEqual({ ok: true, value: { callbackUrl: `${listening.href}?code=abc&state=s` } });

  const abandoned = invoke(fake, app, 'tokenherd:sign-in', { authorizationUrl: url });
  await expect.poll(() => fake.shell.opened.length).toBe(2);
  app.close();
  expect(await abandoned).toMatchObject({ ok: false, code: ErrorCode.SIGN_IN_CANCELLED });
});

test('sign-in with TOKENHERD_SIGN_IN_WINDOW=1: a dedicated window on its own partition without preload, with the RFC 8252 warning; the intercepted redirect completes the call', async () => {
  const fake = createFakeElectron();
  await launch(fake, { TOKENHERD_WINDOWS: '1', TOKENHERD_SIGN_IN_WINDOW: '1' });
  expect(logs.filter((line) => line.includes('RFC 8252 §8.12'))).toHaveLength(1);
  const app = fake.windows[0]!.webContents;
  const redirect = 'http://127.0.0.1/tokenherd-desktop/callback';
  const url = `${ISSUER}/auth?${new URLSearchParams({ client_id: 'c', redirect_uri: redirect, state: 's' })}`;
  expect(await invoke(fake, app, 'tokenherd:sign-in', { authorizationUrl: url.replace(ISSUER, 'https://evil.example') })).toMatchObject({
    code: DesktopErrorCode.NOT_ALLOWED,
  });
  const result = invoke(fake, app, 'tokenherd:sign-in', { authorizationUrl: url });
  await settle();
  const signInWindow = fake.windows.at(-1)!;
  expect(signInWindow.options.webPreferences).toMatchObject({ partition: 'tokenherd-sign-in', sandbox: true, contextIsolation: true });
  expect(signInWindow.options.webPreferences?.['preload']).toBeUndefined();
  expect(signInWindow.webContents.loaded).toEqual([url]);
  const onBeforeRequest = fake.sessions.get('tokenherd-sign-in')!.webRequest.hooks.get('onBeforeRequest')!.listener!;
  const cancelled: boolean[] = [];
  onBeforeRequest({ webContentsId: signInWindow.webContents.id, url: `${ISSUER}/interaction/1` }, (r: { cancel: boolean }) => cancelled.push(r.cancel));
  onBeforeRequest({ webContentsId: signInWindow.webContents.id, url: `${redirect}?code=abc&state=s` }, (r: { cancel: boolean }) => cancelled.push(r.cancel));
  expect(cancelled).toEqual([false, true]);
  expect(await result).toEqual({ ok: true, value: { callbackUrl: `${redirect}?code=abc&state=s` } });
  expect(signInWindow.destroyed).toBe(true);

  const abandoned = invoke(fake, app, 'tokenherd:sign-in', { authorizationUrl: url });
  await settle();
  fake.windows.at(-1)!.close();
  expect(await abandoned).toMatchObject({ ok: false, code: ErrorCode.SIGN_IN_CANCELLED });
});

test('a second launch focuses the most recently used window', async () => {
  const fake = createFakeElectron();
  const main = await launch(fake, { TOKENHERD_WINDOWS: '2' });
  const [first, second] = fake.windows;
  first!.focus();
  first!.calls.length = 0;
  first!.minimized = true;
  fake.app.emit('second-instance', {}, ['electron', 'main.cjs'], '/tmp');
  expect(main.secondInstances()).toBe(1);
  expect(first!.calls).toEqual(['restore', 'show', 'focus']);
  expect(second!.calls).toEqual([]);
});

test("Linux without a secret service: the app says refresh tokens are not sealed, and a window's seal call is refused with the reason", async () => {
  test.skip(process.platform !== 'linux', 'the basic_text backend exists on Linux only');
  const fake = createFakeElectron({ safeStorage: createFakeSafeStorage({ backend: 'basic_text' }) });
  await launch(fake, { TOKENHERD_WINDOWS: '1' });
  expect(logs[0]).toMatch(/NOT sealed at rest: .*basic_text/);
  expect(await invoke(fake, fake.windows[0]!.webContents, 'tokenherd:seal', { text: 'rt' })).toMatchObject({ ok: false, code: ErrorCode.SEALING_UNAVAILABLE });
});
