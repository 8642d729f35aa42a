/**
 * Origins as Chromium sees them, for allowlists that match exactly. WHATWG URL
 * gives `null` as the origin of non-special schemes; the app's own scheme is
 * registered as standard in Electron, where its origin is `scheme://host`.
 * @see RFC 6454 §4 (origin of a URI)
 */
export function originOf(url: string): string | undefined {
  const parsed = URL.parse(url);
  if (!parsed) return undefined;
  if (parsed.origin !== 'null') return parsed.origin;
  return parsed.host !== '' && /^[a-z][a-z0-9+.-]*:$/.test(parsed.protocol) ? `${parsed.protocol}//${parsed.host}` : undefined;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** `http://127.0.0.1:PORT`, `http://[::1]:PORT`, `http://localhost:PORT`: development servers only. */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Normalises one allowlist entry to an exact origin. An entry must be a bare
 * origin (no path, query, credentials or wildcard) on https, or on http with a
 * loopback host when `allowLoopbackHttp` (development). Throws with the reason.
 */
export function allowlistOrigin(entry: unknown, allowLoopbackHttp: boolean): string {
  if (typeof entry !== 'string' || !URL.canParse(entry)) throw new Error(`${JSON.stringify(entry)} is not an absolute URL`);
  if (entry.includes('*')) throw new Error(`${entry}: wildcards are not allowed; name each origin`);
  const url = new URL(entry);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    throw new Error(`${entry}: an allowlist entry is an origin (scheme, host, port) with nothing after it`);
  }
  if (url.protocol !== 'https:' && !(allowLoopbackHttp && isLoopbackHttp(url))) {
    throw new Error(`${entry}: only https origins${allowLoopbackHttp ? ' (or http on a loopback host)' : ''} may be allowlisted`);
  }
  return url.origin;
}
