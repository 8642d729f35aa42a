/**
 * Sign-in happens in a dedicated window (its own in-memory partition, no
 * preload, sandboxed) showing the provider's own pages; the app never embeds
 * them. The provider's redirect to `redirectUri` is intercepted before it
 * leaves the machine, and its URL (code and state) handed to the app window,
 * which exchanges the code with PKCE as a browser app would.
 *
 * This window is an embedded user-agent in the sense of RFC 8252 §8.12, which
 * says native apps MUST NOT use one for authorization requests (the app could
 * read what the user types; some providers refuse such windows). See docs/electron.md,
 * "Known limits".
 * @see RFC 8252 §8.12 (embedded user-agents), RFC 7636 (PKCE)
 */
import { TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';

/**
 * Default redirect URI: loopback, no port; nothing listens there, the sign-in window intercepts it.
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
