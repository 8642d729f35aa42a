/**
 * The desktop app's sign-in in the system browser (RFC 8252): the main process listens on
 * 127.0.0.1 at a random port for the one redirect of this sign-in, opens the authorization URL
 * with `shell.openExternal`, and returns the callback URL to the window that holds the PKCE
 * verifier. Electron's and Node's objects are passed in, so this file imports neither: it runs in
 * Node tests, and a desktop app's main process calls it with `shell.openExternal` and
 * `http.createServer`.
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-7.3 (loopback redirect, any port)
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.3 (127.0.0.1, not localhost)
 * @see https://www.rfc-editor.org/rfc/rfc8252#section-8.12 (no embedded user-agents)
 */
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import { valueOfIpcResult } from './bridge.js';
import type { DesktopAppBridge } from './ipc-contract.js';

/** What the listener reads of a request (Node's `IncomingMessage` is one). */
export interface LoopbackRequest {
  readonly method?: string | undefined;
  readonly url?: string | undefined;
}

/** What the listener writes of an answer (Node's `ServerResponse` is one). */
export interface LoopbackResponse {
  writeHead(status: number, headers: Record<string, string>): unknown;
  end(body: string, done?: () => void): unknown;
}

/** The listener (Node's `http.Server` is one). */
export interface LoopbackServer {
  listen(port: number, host: string, listening: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  address(): { readonly port: number } | string | null;
  close(): unknown;
  /** Ends kept-alive connections too, so the port is free at once. */
  closeAllConnections(): void;
}

/** The objects the sign-in uses: Electron's `shell.openExternal` and Node's `http.createServer`. */
export interface SystemBrowserDeps {
  readonly openExternal: (url: string) => Promise<void>;
  readonly createServer: (listener: (request: LoopbackRequest, response: LoopbackResponse) => void) => LoopbackServer;
}

export interface SystemBrowserSignInOptions {
  /**
   * The authorization request, as the window built it: `state`, PKCE with S256, and a loopback
   * `redirect_uri` without a port (`http://127.0.0.1/path`), to which the listener's port is added.
   */
  readonly authorizationUrl: string;
  /** How long to wait for the redirect. Default 5 minutes. */
  readonly timeoutMs?: number;
  /** Aborts the wait (the user gave up, the window that asked was closed). */
  readonly signal?: AbortSignal;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

const page = (title: string, text: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>`;

function failed(message: string): TokenHerdError {
  return new TokenHerdError(ErrorCode.SIGN_IN_FAILED, `sign-in failed: ${message}`);
}

/** The request's redirect URI, checked: http on 127.0.0.1 without a port. */
function loopbackRedirect(authorizationUrl: URL): URL {
  if (!authorizationUrl.searchParams.get('state')) throw failed('the authorization request has no state');
  if (authorizationUrl.searchParams.get('code_challenge_method') !== 'S256' || !authorizationUrl.searchParams.get('code_challenge')) {
    throw failed('the authorization request has no PKCE code challenge (S256)');
  }
  const redirect = URL.parse(authorizationUrl.searchParams.get('redirect_uri') ?? '');
  if (redirect?.protocol !== 'http:' || redirect.hostname !== '127.0.0.1' || redirect.port !== '') {
    throw failed('redirect_uri must be http://127.0.0.1/<path>, without a port: the listener picks one');
  }
  return redirect;
}

/**
 * Opens `authorizationUrl` in the system browser and resolves with the callback URL the provider
 * redirected to on the loopback listener (its `state` is the request's; the window checks it
 * again and redeems the code with its verifier). The listener answers that one request, then
 * closes; a request with another state is answered 400 and the wait goes on.
 * @throws SIGN_IN_CANCELLED after `timeoutMs` or when `signal` aborts; SIGN_IN_FAILED for a
 *   request without state, PKCE or a port-less loopback redirect URI, or when the browser or the
 *   listener cannot be opened (as rejections)
 */
export async function signInWithSystemBrowser(deps: SystemBrowserDeps, options: SystemBrowserSignInOptions): Promise<string> {
  const url = URL.parse(options.authorizationUrl);
  if (!url) throw failed('the authorization URL is not a URL');
  const redirect = loopbackRedirect(url);
  const state = url.searchParams.get('state');
  const { signal, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
  if (signal?.aborted) throw new TokenHerdError(ErrorCode.SIGN_IN_CANCELLED, 'sign-in cancelled before it started');

  let answered: ((callbackUrl: string) => void) | undefined;
  const server = deps.createServer((request, response) => {
    const target = URL.parse(request.url ?? '', redirect.origin);
    if (request.method !== 'GET' || target?.pathname !== redirect.pathname) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    if (target.searchParams.get('state') !== state || answered === undefined) {
      response.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
      response.end(page('Sign-in failed', 'This answer does not belong to the sign-in in progress. Return to the app and try again.'));
      return;
    }
    const deliver = answered;
    answered = undefined;
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    response.end(page('Signed in', 'You can close this tab and return to the app.'), () => deliver(target.href));
  });
  // The handler reads `redirect` per request: by then it carries the port.
  redirect.port = String(
    await new Promise<number>((resolve, reject) => {
    server.once('error', (error) => reject(failed(`cannot listen on 127.0.0.1: ${error.message}`)));
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (typeof address === 'object' && address !== null) resolve(address.port);
      else reject(failed('the listener has no port'));
    });
  }),
  );
  url.searchParams.set('redirect_uri', redirect.href);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<string>((resolve, reject) => {
      answered = resolve;
      const cancel = (why: string) => reject(new TokenHerdError(ErrorCode.SIGN_IN_CANCELLED, `sign-in cancelled: ${why}`));
      timer = setTimeout(() => cancel(`no answer from the browser within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
      onAbort = () => cancel('given up');
      signal?.addEventListener('abort', onAbort, { once: true });
      deps.openExternal(url.href).catch((error: unknown) => reject(failed(`the system browser did not open: ${String(error)}`)));
    });
  } finally {
    answered = undefined;
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    server.close();
    server.closeAllConnections();
  }
}

/**
 * For the app window: the `open` of `signInWithUserAgent` (from `tokenherd`), which has the main
 * process run `signInWithSystemBrowser` and resolves with the callback URL. With
 * `redirectUri: bridge.signInRedirectUri`.
 * @throws the main process's code (SIGN_IN_CANCELLED, SIGN_IN_FAILED, NOT_ALLOWED, ...) as a TokenHerdError (as rejections)
 */
export function userAgentFromBridge(bridge: Pick<DesktopAppBridge, 'signIn'>): (authorizationUrl: string) => Promise<string> {
  return async (authorizationUrl) => valueOfIpcResult(await bridge.signIn(authorizationUrl));
}
