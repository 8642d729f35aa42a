/**
 * The reference desktop app's main process: the only file that imports
 * Electron at runtime. It wires Electron objects to the small modules next to
 * it, whose decisions are tested in Node:
 * config.ts, trust.ts, ipc.ts, sealing.ts, broker.ts, renderer-token-source.ts, token-relay.ts,
 * navigation.ts, csp.ts, app-protocol.ts, sign-in.ts, single-instance.ts, sessions.ts, menu.ts, sign-in-window.ts.
 */
import { join } from 'node:path';
import {
  BrowserWindow,
  Menu,
  WebContentsView,
  app,
  ipcMain,
  protocol,
  safeStorage,
  session,
  shell,
  type IpcMainInvokeEvent,
  type WebContents,
} from 'electron';
import { ARG_ROLE, ARG_SIGN_IN_REDIRECT } from '../desktop/ipc-contract.js';
import { APP_SCHEME, APP_SCHEME_PRIVILEGES } from './app-protocol.js';
import { createHeaderInjector, createTokenBroker } from './broker.js';
import { appPageUrl, readDesktopConfig } from './config.js';
import { appContentSecurityPolicy } from './csp.js';
import { handleIpc } from './ipc.js';
import { allowAppNavigation, allowViewNavigation, decideAppWindowOpen, decideViewWindowOpen, type WindowPolicy } from './navigation.js';
import { createRendererTokenSource, planBackgroundWindow } from './renderer-token-source.js';
import { createMainSealer } from './sealing.js';
import { applicationMenu } from './menu.js';
import { EMBEDDED_PARTITION, installSessions } from './sessions.js';
import { systemBrowserSignIn } from './sign-in.js';
import { createSignInWindows } from './sign-in-window.js';
import { focusForSecondInstance } from './single-instance.js';
import { createTokenRelay } from './token-relay.js';
import { createTrustRegistry } from './trust.js';

const log = (...args: unknown[]): void => console.warn('[tokenherd]', ...args);

const config = readDesktopConfig(process.env);
// This bundle is dist/electron/main.cjs; the preloads sit next to it and the app pages in dist/demo.
const preloadApp = join(__dirname, 'preload-app.cjs');
const preloadEmbedded = join(__dirname, 'preload-embedded.cjs');
const rendererRoot = join(__dirname, '..', 'demo');
const csp = appContentSecurityPolicy({
  connectOrigins: [config.issuerOrigin],
  ...(config.devServerUrl !== undefined && { devServerOrigin: config.devServerUrl }),
});

app.enableSandbox();
// A second profile is a second userData directory: its own lock, storage and session.
if (config.userDataDir !== undefined) app.setPath('userData', config.userDataDir);
protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: APP_SCHEME_PRIVILEGES }]);

if (!app.requestSingleInstanceLock()) {
  // Another instance owns this profile (userData directory): it gets `second-instance` and focuses itself.
  app.quit();
} else {
  start();
}

function start(): void {
  const trust = createTrustRegistry({ appOrigins: [config.appOrigin] });
  /** Navigation and window.open policy per WebContents; a WebContents without one may do neither. */
  const policies = new Map<number, WindowPolicy>();
  /** App windows, most recently focused first. The hidden background window is not one of them. */
  const appWindows: BrowserWindow[] = [];
  /** Embedded views by the WebContents id of the app window that hosts them. */
  const embeddedViews = new Map<number, { readonly view: WebContentsView; readonly host: BrowserWindow; readonly layout: () => void }>();
  let background: BrowserWindow | undefined;
  let windowCounter = 0;
  let secondInstances = 0;

  const source = createRendererTokenSource({ onChange: () => schedulePlan() });
  const broker = createTokenBroker(config.broker, source);
  const injector = createHeaderInjector(broker, { onProblem: log });
  const sealer = createMainSealer(safeStorage, process.platform);

  let planScheduled = false;
  function schedulePlan(): void {
    if (planScheduled) return;
    planScheduled = true;
    setImmediate(() => {
      planScheduled = false;
      const action = planBackgroundWindow({
        appWindows: appWindows.length,
        backgroundOpen: background !== undefined,
        waitingRequests: source.waiting(),
        backgroundBusy: background !== undefined && !background.isDestroyed() && source.isBusy(background.webContents.id),
      });
      if (action === 'open') background = openAppWindow('background');
      else if (action === 'close' && background) {
        const closing = background;
        background = undefined;
        closing.close();
      }
    });
  }

  app.on('web-contents-created', (_event, contents) => {
    // Embedded content is a WebContentsView the main process creates, never a <webview> a page attaches.
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.on('will-navigate', (event) => {
      if (!policies.get(contents.id)?.navigate(event.url)) event.preventDefault();
    });
    contents.on('will-redirect', (event) => {
      if (event.isMainFrame && !policies.get(contents.id)?.navigate(event.url)) event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      const action = policies.get(contents.id)?.open(url) ?? 'deny';
      if (action === 'open-external') void shell.openExternal(url);
      else if (action === 'open-app-window') openAppWindow('window');
      return { action: 'deny' };
    });
  });

  function openAppWindow(role: 'window' | 'background'): BrowserWindow {
    const number = ++windowCounter;
    const win = new BrowserWindow({
      show: role === 'window',
      width: 1100,
      height: 760,
      title: role === 'window' ? `tokenherd – window ${number}` : 'tokenherd background',
      webPreferences: {
        preload: preloadApp,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webviewTag: false,
        spellcheck: false,
        // A hidden window's timers are throttled by default; its coordinator's lock and request timeouts must not be.
        backgroundThrottling: role === 'window',
        additionalArguments: [`${ARG_SIGN_IN_REDIRECT}${config.signInRedirect}`, `${ARG_ROLE}${role}`],
      },
    });
    const { webContents } = win;
    const id = webContents.id;
    const untrust = trust.register(id, 'app');
    policies.set(id, { navigate: (url) => allowAppNavigation(url, config.appOrigin), open: (url) => decideAppWindowOpen(url, config.appOrigin) });
    // A new document (reload, crash recovery) must announce itself again before it is asked for tokens.
    webContents.on('did-navigate', () => source.forget(id));
    webContents.on('render-process-gone', () => source.forget(id));
    if (role === 'window') {
      appWindows.unshift(win);
      win.on('focus', () => {
        const index = appWindows.indexOf(win);
        if (index > 0) appWindows.unshift(...appWindows.splice(index, 1));
      });
    }
    win.on('closed', () => {
      untrust();
      policies.delete(id);
      source.forget(id);
      closeEmbeddedView(id);
      const index = appWindows.indexOf(win);
      if (index >= 0) appWindows.splice(index, 1);
      if (background === win) background = undefined;
      if (role === 'window' && appWindows.length === 0 && process.platform !== 'darwin') app.quit();
      schedulePlan();
    });
    void win.loadURL(appPageUrl(config, { window: String(number), role }));
    schedulePlan();
    return win;
  }

  function closeEmbeddedView(hostId: number): void {
    const entry = embeddedViews.get(hostId);
    if (!entry) return;
    embeddedViews.delete(hostId);
    const { view, host, layout } = entry;
    policies.delete(view.webContents.id);
    if (!host.isDestroyed()) {
      host.removeListener('resize', layout);
      host.contentView.removeChildView(view);
    }
    if (!view.webContents.isDestroyed()) view.webContents.close();
  }

  /** View > Embedded View: the configured page of another origin, in its own partition, beside the app page. */
  function toggleEmbeddedView(win: BrowserWindow | undefined): WebContentsView | undefined {
    if (!win || background === win || config.embeddedUrl === undefined) return undefined;
    const hostId = win.webContents.id;
    if (embeddedViews.has(hostId)) {
      closeEmbeddedView(hostId);
      return undefined;
    }
    const view = new WebContentsView({
      webPreferences: {
        partition: EMBEDDED_PARTITION,
        preload: preloadEmbedded,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webviewTag: false,
      },
    });
    const viewId = view.webContents.id;
    const untrust = trust.register(viewId, 'embedded');
    view.webContents.once('destroyed', untrust);
    policies.set(viewId, { navigate: (url) => allowViewNavigation(url, config.embeddedNavigation), open: decideViewWindowOpen });
    const layout = (): void => {
      const [width = 0, height = 0] = win.getContentSize();
      view.setBounds({ x: Math.floor(width / 2), y: 0, width: Math.ceil(width / 2), height });
    };
    embeddedViews.set(hostId, { view, host: win, layout });
    win.contentView.addChildView(view);
    layout();
    win.on('resize', layout);
    void view.webContents.loadURL(config.embeddedUrl);
    return view;
  }

  const signInWindows = createSignInWindows({ BrowserWindow, config, policies });
  const signIn = config.signInWindow
    ? (url: string, sender: WebContents) => signInWindows.signIn(url, BrowserWindow.fromWebContents(sender) ?? undefined)
    : systemBrowserSignIn((url) => shell.openExternal(url), config);

  function registerIpc(): void {
    const appOnly = (event: IpcMainInvokeEvent): boolean => trust.isAppSender(event);
    const onProblem = (channel: string, problem: string): void => log(channel, problem);
    handleIpc(ipcMain, 'tokenherd:seal', { trust: appOnly, onProblem, handle: ({ text }) => ({ sealed: sealer.seal(text) }) });
    handleIpc(ipcMain, 'tokenherd:unseal', { trust: appOnly, onProblem, handle: ({ sealed }) => ({ text: sealer.unseal(sealed) }) });
    handleIpc(ipcMain, 'tokenherd:sign-in', {
      trust: appOnly,
      onProblem,
      handle: async ({ authorizationUrl }, event) => ({ callbackUrl: await signIn(authorizationUrl, event.sender) }),
    });
    handleIpc(ipcMain, 'tokenherd:broker-ready', {
      trust: appOnly,
      onProblem,
      handle: ({ sessionKey, ready }, event) => {
        const role = background !== undefined && !background.isDestroyed() && background.webContents.id === event.sender.id ? 'background' : 'window';
        source.setReady(event.sender, sessionKey, ready, role);
        return null;
      },
    });
    handleIpc(ipcMain, 'tokenherd:broker-answer', {
      trust: appOnly,
      onProblem,
      handle: (answer, event) => {
        if (!source.deliver(event.sender.id, answer)) log('dropped an answer to no request of this window');
        return null;
      },
    });
    handleIpc(ipcMain, 'tokenherd:token-request', { trust: appOnly, onProblem, handle: createTokenRelay(config.tokenRelay) });
    handleIpc(ipcMain, 'tokenherd:view-access-token', {
      trust: (event) => trust.embeddedOrigin(event) !== undefined,
      onProblem,
      handle: async ({ provider }, event) => ({ accessToken: await broker.viewAccessToken(trust.embeddedOrigin(event), provider) }),
    });
  }

  app.on('second-instance', () => {
    secondInstances++;
    focusForSecondInstance(appWindows, () => openAppWindow('window'));
  });
  app.on('activate', () => {
    if (appWindows.length === 0) openAppWindow('window');
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  void app.whenReady().then(() => {
    installSessions({ session, protocol }, { config, csp, rendererRoot, injector, signIns: signInWindows.pending });
    registerIpc();
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        applicationMenu({
          isMac: process.platform === 'darwin',
          embeddedView: config.embeddedUrl !== undefined,
          devTools: config.devServerUrl !== undefined,
          newWindow: () => openAppWindow('window'),
          toggleEmbeddedView: () => void toggleEmbeddedView(BrowserWindow.getFocusedWindow() ?? appWindows[0]),
        }),
      ),
    );
    if (config.signInWindow) log('TOKENHERD_SIGN_IN_WINDOW=1: sign-in in an embedded window, which RFC 8252 §8.12 says native apps must not use; some providers refuse it');
    const status = sealer.status();
    log(status.available ? `refresh tokens are sealed at rest (${status.backend})` : `refresh tokens are NOT sealed at rest: ${status.reason}`);
    for (let i = 0; i < config.initialWindows; i++) openAppWindow('window');
    if (config.testHooks) {
      Object.assign(globalThis, {
        tokenherdMain: {
          getAccessToken: (provider: string) => broker.getAccessToken(provider),
          openAppWindow: () => openAppWindow('window').webContents.id,
          toggleEmbeddedView: (windowIndex = 0) => toggleEmbeddedView(appWindows[windowIndex])?.webContents.id,
          embeddedViewIds: () => [...embeddedViews.values()].map(({ view }) => view.webContents.id),
          appWindowIds: () => appWindows.map((win) => win.webContents.id),
          focusedWindowId: () => BrowserWindow.getFocusedWindow()?.webContents.id,
          backgroundOpen: () => background !== undefined,
          secondInstances: () => secondInstances,
          sealing: () => sealer.status(),
        },
      });
    }
  });
}
