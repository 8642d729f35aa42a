/**
 * The app windows' Content Security Policy. Scripts and styles only from the
 * app itself, no plugins, no framing, no forms, no `<base>`; `connect-src` names
 * the origins the coordinator talks to (the issuer's token endpoint, the APIs
 * the app calls).
 */
export interface CspOptions {
  /** Exact origins the app may `fetch` (the OAuth issuer, APIs). */
  readonly connectOrigins: readonly string[];
  /** The vite dev server's origin in development: allows its HMR WebSocket and injected styles. */
  readonly devServerOrigin?: string;
}

/** The CSP header value of app documents: `default-src 'none'`, then only the app itself and the origins the options name. */
export function appContentSecurityPolicy(options: CspOptions): string {
  const dev = options.devServerOrigin;
  const connect = ["'self'", ...options.connectOrigins];
  if (dev !== undefined) connect.push(dev.replace(/^http/, 'ws'));
  const directives: Record<string, string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': dev === undefined ? ["'self'"] : ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:'],
    'font-src': ["'self'"],
    'connect-src': [...new Set(connect)],
    'object-src': ["'none'"],
    'frame-src': ["'none'"],
    'worker-src': ["'none'"],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}
