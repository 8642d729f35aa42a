import type { Page } from '@playwright/test';
import { createFakeIpcMain, connectRenderer, fakeEvent } from '../../test/electron/test-support.js';
import { createTrustRegistry, type IpcEventLike } from '../../src/main/trust.js';
import { createDesktopAppBridge } from '../../src/preload/bridges.js';
import type { DesktopAppBridge } from '../../src/desktop/ipc-contract.js';

/**
 * The main process's side of IPC for test pages of `appOrigin`: register real
 * handlers on `ipcMain` with `appOnly` as their trust check, and expose
 * `bridgeFor(page, frameUrl)` calls as page bindings. Each page is an app window
 * the main process created (so registered as trusted), and its calls go through
 * the app preload's bridge, the contract's validators and structured clone.
 */
export function createMainSide(appOrigin: string) {
  const ipcMain = createFakeIpcMain();
  const trust = createTrustRegistry({ appOrigins: [appOrigin] });
  const ids = new Map<Page, number>();
  return {
    ipcMain,
    appOnly: (event: IpcEventLike): boolean => trust.isAppSender(event),
    bridgeFor(page: Page, frameUrl: string): DesktopAppBridge {
      let id = ids.get(page);
      if (id === undefined) {
        id = 100 + ids.size;
        ids.set(page, id);
        trust.register(id, 'app');
      }
      return createDesktopAppBridge(connectRenderer(ipcMain, fakeEvent(id, frameUrl)), []);
    },
  };
}
