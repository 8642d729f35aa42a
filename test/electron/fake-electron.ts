/**
 * A stand-in for the `electron` module, just wide enough to load the built
 * main process (dist/electron/main.cjs) in Node and drive its wiring: which
 * windows it creates with which webPreferences, which IPC channels it handles
 * and how, which session hooks it installs. Test support only; it models the
 * calls, not Chromium.
 */
import { EventEmitter } from 'node:events';
import { createFakeIpcMain, createFakeSafeStorage } from './test-support.js';

type Listener = (...args: unknown[]) => void;

export interface FakeWebContents extends EventEmitter {
  readonly id: number;
  readonly sent: Array<{ channel: string; args: unknown[] }>;
  readonly loaded: string[];
  url: string;
  windowOpenHandler?: (details: { url: string }) => { action: string };
  destroyed: boolean;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
  loadURL(url: string): Promise<void>;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void;
  close(): void;
  /** The main frame, as `senderFrame` of IPC events. */
  mainFrame(): { url: string; parent: null };
}

export interface FakeWebRequest {
  readonly hooks: Map<string, { filter?: unknown; listener: Listener | null }>;
}

export interface FakeSession {
  readonly partition: string;
  readonly webRequest: FakeWebRequest & Record<string, (...args: unknown[]) => void>;
  permissionRequestHandler?: Listener;
  setPermissionRequestHandler(handler: Listener): void;
}

export function createFakeElectron(options: { singleInstanceLock?: boolean; safeStorage?: ReturnType<typeof createFakeSafeStorage> } = {}) {
  let nextId = 1;
  const app = Object.assign(new EventEmitter(), {
    calls: [] as string[],
    readyResolve: undefined as undefined | (() => void),
    enableSandbox: () => void app.calls.push('enableSandbox'),
    setPath: (name: string, path: string) => void app.calls.push(`setPath ${name} ${path}`),
    requestSingleInstanceLock: () => (app.calls.push('requestSingleInstanceLock'), options.singleInstanceLock ?? true),
    quit: () => void app.calls.push('quit'),
    whenReady: () => new Promise<void>((resolve) => (app.readyResolve = resolve)),
  });

  const sessions = new Map<string, FakeSession>();
  function fakeSession(partition: string): FakeSession {
    const existing = sessions.get(partition);
    if (existing) return existing;
    const hooks = new Map<string, { filter?: unknown; listener: Listener | null }>();
    const hook =
      (name: string) =>
      (...args: unknown[]): void => {
        const listener = args.at(-1) as Listener | null;
        hooks.set(name, args.length > 1 ? { filter: args[0], listener } : { listener });
      };
    const created: FakeSession = {
      partition,
      webRequest: Object.assign(
        { hooks },
        Object.fromEntries(['onBeforeRequest', 'onBeforeSendHeaders', 'onHeadersReceived', 'onCompleted', 'onErrorOccurred'].map((n) => [n, hook(n)])),
      ),
      setPermissionRequestHandler(handler) {
        created.permissionRequestHandler = handler;
      },
    };
    sessions.set(partition, created);
    return created;
  }

  function webContents(): FakeWebContents {
    const contents = Object.assign(new EventEmitter(), {
      id: nextId++,
      sent: [] as Array<{ channel: string; args: unknown[] }>,
      loaded: [] as string[],
      url: '',
      destroyed: false,
      isDestroyed: () => contents.destroyed,
      send: (channel: string, ...args: unknown[]) => void contents.sent.push({ channel, args }),
      loadURL: async (url: string) => {
        contents.loaded.push(url);
        contents.url = url;
      },
      setWindowOpenHandler(handler: (details: { url: string }) => { action: string }) {
        contents.windowOpenHandler = handler;
      },
      close() {
        contents.destroyed = true;
        contents.emit('destroyed');
      },
      mainFrame: () => ({ url: contents.url, parent: null }),
    }) as FakeWebContents;
    app.emit('web-contents-created', {}, contents);
    return contents;
  }

  const windows: FakeBrowserWindow[] = [];
  class FakeBrowserWindow extends EventEmitter {
    static fromWebContents = (contents: FakeWebContents) => windows.find((w) => w.webContents === contents) ?? null;
    static getFocusedWindow = () => windows.find((w) => w.focused && !w.destroyed) ?? null;
    readonly webContents: FakeWebContents;
    readonly calls: string[] = [];
    readonly contentView = { children: [] as unknown[], addChildView: (v: unknown) => void this.contentView.children.push(v), removeChildView: (v: unknown) => void this.contentView.children.splice(this.contentView.children.indexOf(v), 1) };
    destroyed = false;
    focused = false;
    minimized = false;
    constructor(readonly options: { show?: boolean; webPreferences?: Record<string, unknown> } & Record<string, unknown>) {
      super();
      fakeSession(String(options.webPreferences?.['partition'] ?? 'default'));
      this.webContents = webContents();
      windows.push(this);
    }
    loadURL(url: string) {
      return this.webContents.loadURL(url);
    }
    isDestroyed = () => this.destroyed;
    isMinimized = () => this.minimized;
    restore = () => void this.calls.push('restore');
    show = () => void this.calls.push('show');
    focus = () => {
      this.calls.push('focus');
      this.focused = true;
      this.emit('focus');
    };
    getContentSize = () => [1000, 700];
    close() {
      if (this.destroyed) return;
      this.destroyed = true;
      this.webContents.destroyed = true;
      this.emit('closed');
    }
  }

  class FakeWebContentsView {
    readonly webContents: FakeWebContents;
    bounds: unknown;
    constructor(readonly options: { webPreferences?: Record<string, unknown> }) {
      fakeSession(String(options.webPreferences?.['partition'] ?? 'default'));
      this.webContents = webContents();
      views.push(this);
    }
    setBounds(bounds: unknown) {
      this.bounds = bounds;
    }
  }
  const views: FakeWebContentsView[] = [];

  const protocol = {
    privileged: [] as unknown[],
    handlers: new Map<string, (request: Request) => Promise<Response>>(),
    registerSchemesAsPrivileged: (schemes: unknown[]) => void protocol.privileged.push(...schemes),
    handle: (scheme: string, handler: (request: Request) => Promise<Response>) => void protocol.handlers.set(scheme, handler),
  };
  const shell = { opened: [] as string[], openExternal: async (url: string) => void shell.opened.push(url) };
  const menu = { template: undefined as unknown };

  const module = {
    app,
    BrowserWindow: FakeBrowserWindow,
    WebContentsView: FakeWebContentsView,
    ipcMain: createFakeIpcMain(),
    protocol,
    safeStorage: options.safeStorage ?? createFakeSafeStorage(),
    session: { defaultSession: fakeSession('default'), fromPartition: fakeSession },
    shell,
    Menu: { buildFromTemplate: (template: unknown) => template, setApplicationMenu: (template: unknown) => void (menu.template = template) },
  };
  return { module, app, windows, views, sessions, protocol, shell, menu, ipcMain: module.ipcMain };
}

export type FakeElectron = ReturnType<typeof createFakeElectron>;
