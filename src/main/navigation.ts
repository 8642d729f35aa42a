/**
 * Navigation and `window.open` allowlists. Every WebContents the app creates
 * gets exactly one of these policies; anything not allowed is denied, and only
 * https links ever reach the system browser.
 */
import { originOf } from './origins.js';

/** What the main process does with a `window.open`: it always denies the page's own window, and opens one itself or hands an https URL to the OS. */
export type WindowOpenAction = 'open-app-window' | 'open-external' | 'deny';

/** What one WebContents may navigate to and open; a WebContents without one may do neither. */
export interface WindowPolicy {
  navigate(url: string): boolean;
  open(url: string): WindowOpenAction;
}

/** https only: never `file:`, custom schemes or `javascript:` to the OS. */
export function isSafeExternalUrl(url: string): boolean {
  const parsed = URL.parse(url);
  return parsed !== null && parsed.protocol === 'https:' && parsed.username === '' && parsed.password === '';
}

/** An app window stays on the app's own origin (a reload, an in-app link). */
export function allowAppNavigation(url: string, appOrigin: string): boolean {
  return originOf(url) === appOrigin;
}

/** `window.open` from an app window: the app itself opens another app window; https goes to the system browser. */
export function decideAppWindowOpen(url: string, appOrigin: string): WindowOpenAction {
  if (originOf(url) === appOrigin) return 'open-app-window';
  return isSafeExternalUrl(url) ? 'open-external' : 'deny';
}

/** An embedded view stays on the origins its configuration names. */
export function allowViewNavigation(url: string, allowedOrigins: ReadonlySet<string>): boolean {
  const origin = originOf(url);
  return origin !== undefined && allowedOrigins.has(origin);
}

/** `window.open` from an embedded view never opens an Electron window. */
export function decideViewWindowOpen(url: string): Exclude<WindowOpenAction, 'open-app-window'> {
  return isSafeExternalUrl(url) ? 'open-external' : 'deny';
}
