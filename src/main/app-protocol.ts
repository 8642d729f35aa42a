/**
 * The app's own scheme, `tokenherd://app/`: registered as standard and secure,
 * so app pages get a stable origin and a secure context (Web Locks, IndexedDB,
 * BroadcastChannel) wherever the app is installed, without a local server.
 */
import { extname, resolve, sep } from 'node:path';

/** The app's own URL scheme. */
export const APP_SCHEME = 'tokenherd';
/** The one host of the app scheme; any other host is answered 404. */
export const APP_HOST = 'app';
/**
 * The app pages' origin, the same on every machine: their storage, locks and channels are keyed by it.
 * @see RFC 6454 §4 (origin of a URI)
 */
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

/** For `protocol.registerSchemesAsPrivileged` (before app ready). */
export const APP_SCHEME_PRIVILEGES = {
  standard: true,
  secure: true,
  supportFetchAPI: true,
  corsEnabled: true,
  codeCache: true,
} as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

/** A file of the app to serve, with its content type; or the HTTP status that refuses the request. */
export type AppFile = { readonly path: string; readonly contentType: string } | { readonly status: 400 | 404 | 405 };

/**
 * Maps a request of the app scheme to a file under `root`, refusing anything
 * that would leave it (`..`, encoded separators, NUL) and any other host.
 */
export function resolveAppFile(requestUrl: string, method: string, root: string): AppFile {
  if (method !== 'GET' && method !== 'HEAD') return { status: 405 };
  const url = URL.parse(requestUrl);
  if (!url || url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { status: 404 };
  let pathname: string;
  try {
    pathname = decodeURIComponent(url.pathname);
  } catch {
    return { status: 400 };
  }
  if (pathname.includes('\0') || pathname.includes('\\') || pathname.split('/').includes('..')) return { status: 400 };
  if (pathname === '/' || pathname === '') pathname = '/index.html';
  const base = resolve(root);
  const path = resolve(base, `.${pathname}`);
  if (!path.startsWith(base + sep)) return { status: 400 };
  const contentType = TYPES[extname(path).toLowerCase()];
  return contentType === undefined ? { status: 404 } : { path, contentType };
}

/** Response headers of an app file; the CSP goes on documents. */
export function appResponseHeaders(file: { readonly contentType: string }, csp: string): Record<string, string> {
  return {
    'Content-Type': file.contentType,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
    ...(file.contentType.startsWith('text/html') && {
      'Content-Security-Policy': csp,
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Referrer-Policy': 'no-referrer',
    }),
  };
}
