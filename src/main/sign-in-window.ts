import type { BrowserWindow } from 'electron';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import type { DesktopConfig } from './config.js';
import { decideViewWindowOpen, type WindowPolicy } from './navigation.js';
import { originOf } from './origins.js';
import { SIGN_IN_PARTITION } from './sessions.js';
import { checkAuthorizationUrl, matchRedirect } from './sign-in.js';

/** The app's sign-in windows: one per sign-in in progress. */
export interface SignInWindows {
  /**
   * Opens the provider's authorization page in a dedicated window of the in-memory sign-in
   * session and resolves with the redirect it catches. This is an embedded user-agent,
   * which RFC 8252 §8.12 says native apps must not use (see docs/electron.md's limits).
   * @throws SIGN_IN_CANCELLED when the window is closed first
   * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.12
   */
  signIn(authorizationUrl: string, parent: BrowserWindow | undefined): Promise<string>;
  /** Sign-in windows in progress, by WebContents id: what to do with the intercepted redirect. */
  readonly pending: ReadonlyMap<number, (callbackUrl: string) => void>;
}

/** The sign-in windows of the app, with Electron's `BrowserWindow` passed in; each may navigate only on the issuer and to the redirect. */
export function createSignInWindows(deps: {
  readonly BrowserWindow: typeof BrowserWindow;
  readonly config: DesktopConfig;
  readonly policies: Map<number, WindowPolicy>;
}): SignInWindows {
  const { config, policies } = deps;
  const pending = new Map<number, (callbackUrl: string) => void>();
  return {
    pending,
    signIn(authorizationUrl, parent) {
      const url = checkAuthorizationUrl(authorizationUrl, config.issuerOrigin, config.signInRedirect);
      return new Promise<string>((resolve, reject) => {
        const win = new deps.BrowserWindow({
          ...(parent && { parent }),
          width: 520,
          height: 720,
          title: 'Sign in',
          webPreferences: { partition: SIGN_IN_PARTITION, contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false },
        });
        const id = win.webContents.id;
        policies.set(id, {
          navigate: (target) => originOf(target) === config.issuerOrigin || matchRedirect(target, config.signInRedirect) !== undefined,
          open: decideViewWindowOpen,
        });
        pending.set(id, (callbackUrl) => {
          pending.delete(id);
          resolve(callbackUrl);
          if (!win.isDestroyed()) win.close();
        });
        win.on('closed', () => {
          policies.delete(id);
          if (pending.delete(id)) reject(new TokenHerdError(ErrorCode.SIGN_IN_CANCELLED, 'the sign-in window was closed'));
        });
        void win.loadURL(url.href);
      });
    },
  };
}
