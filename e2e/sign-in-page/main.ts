/**
 * The page e2e/sign-in.spec.ts drives: a coordinator and the sign-in helpers, configured from the
 * query (the test's server), with a handle whose results are plain data so they cross `page.evaluate`.
 * It is also its own redirect URI: every load calls `completeSignIn`.
 */
import {
  DEFAULT_DATABASE_NAME,
  completeSignIn,
  createDpop,
  createTokenCoordinator,
  isTokenHerdError,
  signInWithPopup,
  signInWithRedirect,
  signInWithUserAgent,
  type SignInOptions,
} from '../../src/renderer/index.js';

// The callback comes back without the query: the configuration waits in localStorage (one origin per test worker).
if (location.search.includes('issuer=')) localStorage.setItem('sign-in-page:query', location.search);
const params = new URLSearchParams(localStorage.getItem('sign-in-page:query') ?? '');
const issuer = params.get('issuer') ?? '';
const sessionKey = params.get('session') ?? 'sign-in';
// One DPoP object for the coordinator and the sign-in: the key the code exchange binds is the one refreshes prove.
const dpop = params.get('dpop') === '1' ? createDpop({ sessionKey, databaseName: DEFAULT_DATABASE_NAME }) : undefined;
const coordinator = createTokenCoordinator({ sessionKey, issuer, client: { client_id: params.get('client_id') ?? '' }, allowInsecureRequests: true, ...(dpop && { dpop }) });
const options: SignInOptions = {
  coordinator,
  issuer,
  clientId: params.get('client_id') ?? '',
  redirectUri: `${location.origin}/`,
  parameters: { prompt: 'consent' },
  allowInsecureRequests: true,
  ...(dpop && { dpop }),
};

const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ ok: true, value }) as const,
    (error: unknown) => ({ ok: false, code: isTokenHerdError(error) ? error.code : 'UNEXPECTED', message: String(error) }) as const,
  );

let popupResult: Promise<Awaited<ReturnType<typeof outcome>>> | undefined;
document.getElementById('popup')?.addEventListener('click', () => {
  popupResult = outcome(signInWithPopup(options));
});

const completed = outcome(completeSignIn(options));
const handle = {
  completed,
  /** After the callback, the store read: `getState()` says signed-in or signed-out. */
  ready: completed.then(() => coordinator.reload().catch(() => undefined)),
  coordinator,
  redirect: () => outcome(signInWithRedirect(options)),
  popupResult: () => popupResult,
  token: () => outcome(coordinator.getAccessToken()),
  /** As the desktop app window signs in: a port-less loopback redirect URI, the system browser opened by the main process. */
  systemBrowser: () =>
    outcome(
      signInWithUserAgent({ ...options, redirectUri: 'http://127.0.0.1/tokenherd-desktop/callback' }, (url) => {
        if (!window.tokenherdTestSystemBrowser) throw new Error('no system browser exposed');
        return window.tokenherdTestSystemBrowser(url);
      }),
    ),
};
declare global {
  interface Window {
    /** e2e/sign-in-desktop.spec.ts: the main process's system-browser sign-in, run in the test process. */
    tokenherdTestSystemBrowser?: (authorizationUrl: string) => Promise<string>;
  }
}

export type SignInPageHandle = typeof handle;
Object.assign(window, { signInPage: handle });
