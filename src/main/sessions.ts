import { readFile } from 'node:fs/promises';
import type { Protocol, Session } from 'electron';
import { APP_SCHEME, appResponseHeaders, resolveAppFile } from './app-protocol.js';
import type { HeaderInjector } from './broker.js';
import type { DesktopConfig } from './config.js';
import { matchRedirect } from './sign-in.js';

/** The partition of embedded views: persistent, and never the app's own. */
export const EMBEDDED_PARTITION = 'persist:tokenherd-embedded';
/** The partition of sign-in windows: in memory, so the provider's cookies end with the app. */
export const SIGN_IN_PARTITION = 'tokenherd-sign-in';

/** What the sessions are wired to: the config, the app pages' policy and files, the broker's injector, the sign-ins waiting. */
export interface SessionWiring {
  readonly config: DesktopConfig;
  /** The app pages' Content-Security-Policy. */
  readonly csp: string;
  /** Where the app scheme serves its files from. */
  readonly rendererRoot: string;
  readonly injector: HeaderInjector;
  /** Sign-in windows in progress, by WebContents id: what to do with the intercepted redirect. */
  readonly signIns: ReadonlyMap<number, (callbackUrl: string) => void>;
}

/** No page of any session gets a permission (camera, notifications, ...): the app needs none. */
function harden(target: Session): void {
  target.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
}

/**
 * Sets up the app's three sessions with Electron's objects passed in: the app session
 * serves the app scheme with its CSP, the embedded views' session gets access tokens
 * injected by the broker, and the sign-in session catches the provider's redirect
 * before it leaves the machine. None grants a permission.
 */
export function installSessions({ session, protocol }: { session: typeof Electron.session; protocol: Protocol }, wiring: SessionWiring): void {
  const { config, csp, rendererRoot, injector, signIns } = wiring;
  const appSession = session.defaultSession;
  harden(appSession);
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(request.url, request.method, rendererRoot);
    if ('status' in file) return new Response(null, { status: file.status });
    try {
      const body = await readFile(file.path);
      return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), { headers: appResponseHeaders(file, csp) });
    } catch {
      return new Response(null, { status: 404 });
    }
  });
  if (config.devServerUrl !== undefined) {
    appSession.webRequest.onHeadersReceived({ urls: [`${config.devServerUrl}/*`] }, (details, callback) => {
      const headers = { ...details.responseHeaders };
      if (details.resourceType === 'mainFrame') headers['Content-Security-Policy'] = [csp];
      callback({ responseHeaders: headers });
    });
  }

  const embedded = session.fromPartition(EMBEDDED_PARTITION);
  harden(embedded);
  embedded.webRequest.onBeforeSendHeaders((details, callback) => {
    injector.headersFor(details).then(
      (requestHeaders) => callback({ requestHeaders }),
      () => callback({ requestHeaders: details.requestHeaders }),
    );
  });
  embedded.webRequest.onCompleted((details) => injector.completed(details));
  embedded.webRequest.onErrorOccurred((details) => injector.completed(details));

  const signIn = session.fromPartition(SIGN_IN_PARTITION);
  harden(signIn);
  // The provider's redirect is caught before it leaves the machine: nothing listens at the redirect URI.
  signIn.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => {
    const deliver = details.webContentsId === undefined ? undefined : signIns.get(details.webContentsId);
    const callbackUrl = deliver && matchRedirect(details.url, config.signInRedirect);
    callback({ cancel: callbackUrl !== undefined });
    if (deliver && callbackUrl !== undefined) deliver(callbackUrl);
  });
}
