/**
 * Sign-in in the system browser (RFC 8252 §8.12: native apps use an external user-agent):
 * the app window builds the authorization request (PKCE, state, the loopback redirect URI
 * without a port), the main process checks it, listens on 127.0.0.1 at a random port
 * (`signInWithSystemBrowser`), opens the browser with `shell.openExternal`, and hands the
 * callback URL back to the window, which redeems the code with its verifier.
 *
 * The older dedicated sign-in window (sign-in-window.ts) is an embedded user-agent, which
 * §8.12 says native apps MUST NOT use (the app could read what the user types; some
 * providers refuse such windows); it runs only with TOKENHERD_SIGN_IN_WINDOW=1.
 * @see RFC 8252 §7.3 (loopback redirect), §8.12 (embedded user-agents), RFC 7636 (PKCE)
 */
import { createServer } from 'node:http';
import { signInWithSystemBrowser } from '../desktop/loopback-sign-in.js';
import { TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';

/**
 * Default redirect URI: loopback, no port; the system-browser sign-in listens on it at a random
 * port for one answer (the opt-in sign-in window intercepts it instead).
 * @see RFC 8252 §7.3 (loopback redirect URIs), §8.3 (`127.0.0.1` rather than `localhost`)
 */
export const DEFAULT_SIGN_IN_REDIRECT = 'http://127.0.0.1/tokenherd-desktop/callback';

/**
 * The app window may only send the user to the configured issuer's
 * authorization endpoint, with the redirect URI the main process intercepts.
 * Throws NOT_ALLOWED otherwise.
 * @see RFC 6749 §3.1.2 (the redirection endpoint)
 */
export function checkAuthorizationUrl(authorizationUrl: string, issuerOrigin: string, redirectUri: string): URL {
  const url = URL.parse(authorizationUrl);
  if (!url || url.origin !== issuerOrigin) {
    throw new TokenHerdError(DesktopErrorCode.NOT_ALLOWED, `sign-in may only open the issuer ${issuerOrigin}`);
  }
  if (url.searchParams.get('redirect_uri') !== redirectUri) {
    throw new TokenHerdError(DesktopErrorCode.NOT_ALLOWED, `redirect_uri must be ${redirectUri}`);
  }
  return url;
}

/**
 * The callback URL if `url` is the redirect (same origin and path, any query); undefined otherwise.
 * @see RFC 6749 §4.1.2 (the authorization response it carries)
 */
export function matchRedirect(url: string, redirectUri: string): string | undefined {
  const candidate = URL.parse(url);
  const expected = URL.parse(redirectUri);
  if (!candidate || !expected) return undefined;
  return candidate.origin === expected.origin && candidate.pathname === expected.pathname ? candidate.href : undefined;
}

/** What a sign-in waits on: the window that asked; its end gives the sign-in up. */
interface Asker {
  once(event: 'destroyed', listener: () => void): unknown;
  removeListener(event: 'destroyed', listener: () => void): unknown;
}

/**
 * The `tokenherd:sign-in` handler of the system-browser sign-in, with Electron's `openExternal`
 * passed in: the request is checked as for the sign-in window, then `signInWithSystemBrowser` runs
 * it; SIGN_IN_CANCELLED when the window that asked is closed first or no answer comes in 5 minutes.
 */
export function systemBrowserSignIn(
  openExternal: (url: string) => Promise<void>,
  config: { readonly issuerOrigin: string; readonly signInRedirect: string },
): (authorizationUrl: string, asker: Asker) => Promise<string> {
  return async (authorizationUrl, asker) => {
    checkAuthorizationUrl(authorizationUrl, config.issuerOrigin, config.signInRedirect);
    const gone = new AbortController();
    const abort = () => gone.abort();
    asker.once('destroyed', abort);
    try {
      return await signInWithSystemBrowser({ openExternal, createServer }, { authorizationUrl, signal: gone.signal });
    } finally {
      asker.removeListener('destroyed', abort);
    }
  };
}
