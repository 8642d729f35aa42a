/**
 * Sign-in for a browser app (or an Electron app window): the authorization code grant with
 * PKCE (S256) on oauth4webapi, by a redirect of this page, in a popup, or through any user
 * agent the app opens (the desktop app's system browser). The token response is stored with
 * the coordinator's `setSession`, so every window of the app is signed in.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1 (authorization code grant)
 * @see https://www.rfc-editor.org/rfc/rfc7636 (PKCE)
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-2.1 (state or PKCE against CSRF)
 */
import * as oauth from 'oauth4webapi';
import type { CoordinatorCore } from '../shared/coordinator.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import type { DpopRequestOptions } from '../oauth/token-endpoint.js';

/**
 * Binds the code exchange to a new DPoP key of the session: `createDpop(...)` is one. Taken as a
 * parameter, so an app without DPoP does not bundle the DPoP modules.
 * @see https://www.rfc-editor.org/rfc/rfc9449#section-5
 */
export interface DpopSignIn {
  signIn(exchange: (options: DpopRequestOptions) => Promise<unknown>, setSession: (tokenResponse: unknown) => Promise<void>): Promise<void>;
}

/** Options of every sign-in function; one object the app defines once and passes to each. */
export interface SignInOptions {
  /** Where the session is stored (`setSession`): the coordinator of this provider account. */
  readonly coordinator: Pick<CoordinatorCore, 'setSession'>;
  /** The authorization server's issuer; its endpoints are discovered (OpenID Connect, then RFC 8414). */
  readonly issuer: string;
  /** A public client: no secret, PKCE instead. */
  readonly clientId: string;
  /**
   * Registered at the provider, and a page of the app that calls `completeSignIn` on load. A
   * loopback URI without a port (`http://127.0.0.1/callback`) takes the port the callback came
   * to (RFC 8252 §7.3): the desktop app's system-browser sign-in listens on a random one.
   */
  readonly redirectUri: string;
  /** Default `openid offline_access` (a refresh token). */
  readonly scope?: string;
  /** More authorization request parameters, e.g. `{ prompt: 'consent' }`. */
  readonly parameters?: Readonly<Record<string, string>>;
  /** Allows `http:` URLs. Development only. */
  readonly allowInsecureRequests?: boolean;
  /** Used for discovery and the code exchange. Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** DPoP: the code exchange is bound to a new key of the session: the `createDpop(...)` object the coordinator was given as `dpop`. */
  readonly dpop?: DpopSignIn;
}

/** An authorization request on its way: what its callback is checked and redeemed with. */
interface Started {
  readonly url: URL;
  readonly state: string;
  readonly verifier: string;
}

/** The redirect flow's request, kept in this tab's sessionStorage until its callback: one at a time, taken once. */
interface Pending {
  readonly issuer: string;
  readonly clientId: string;
  readonly state: string;
  readonly verifier: string;
  readonly returnTo: string;
}

const PENDING_KEY = 'tokenherd:sign-in';
/** A popup's callback page hands the callback URL to the window that opened it on this channel. */
const CALLBACK_CHANNEL = 'tokenherd:sign-in';

function failed(phase: string, error: unknown): TokenHerdError {
  if (error instanceof TokenHerdError) return error;
  if (error instanceof oauth.AuthorizationResponseError && error.error === 'access_denied') {
    return new TokenHerdError(ErrorCode.SIGN_IN_CANCELLED, `sign-in refused at the provider: ${error.error_description ?? error.error}`, {
      error: error.error,
      ...(error.error_description !== undefined && { error_description: error.error_description }),
    });
  }
  const answer = error instanceof oauth.AuthorizationResponseError || error instanceof oauth.ResponseBodyError ? error : undefined;
  const message = error instanceof Error ? error.message : String(error);
  return new TokenHerdError(ErrorCode.SIGN_IN_FAILED, `sign-in failed at ${phase}: ${message}`, {
    cause: error,
    ...(answer && { error: answer.error }),
    ...(answer?.error_description !== undefined && { error_description: answer.error_description }),
    ...(answer instanceof oauth.ResponseBodyError && { status: answer.status }),
  });
}

function requestOptions(options: SignInOptions) {
  const { fetch: fetchImpl } = options;
  return {
    [oauth.allowInsecureRequests]: options.allowInsecureRequests === true,
    ...(fetchImpl && { [oauth.customFetch]: (url: string, init: object) => fetchImpl(url, init as RequestInit) }),
  };
}

async function discover(options: SignInOptions): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(options.issuer);
  try {
    const response = await oauth.discoveryRequest(issuer, { ...requestOptions(options), algorithm: 'oidc' });
    return await oauth.processDiscoveryResponse(issuer, response);
  } catch {
    try {
      const response = await oauth.discoveryRequest(issuer, { ...requestOptions(options), algorithm: 'oauth2' });
      return await oauth.processDiscoveryResponse(issuer, response);
    } catch (error) {
      throw failed(`discovery of ${options.issuer}`, error);
    }
  }
}

async function start(options: SignInOptions): Promise<Started> {
  const as = await discover(options);
  if (as.authorization_endpoint === undefined) throw failed('discovery', new Error(`${options.issuer} names no authorization_endpoint`));
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.search = new URLSearchParams({
    ...options.parameters,
    client_id: options.clientId,
    redirect_uri: options.redirectUri,
    response_type: 'code',
    scope: options.scope ?? 'openid offline_access',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  return { url, state, verifier };
}

/** `redirectUri`, or for a port-less loopback one, with the port the callback came to (RFC 8252 §7.3). */
function redirectUriOf(redirectUri: string, callback: URL): string {
  const registered = new URL(redirectUri);
  const loopback = registered.protocol === 'http:' && registered.port === '' && ['127.0.0.1', '[::1]'].includes(registered.hostname);
  if (!loopback || callback.hostname !== registered.hostname || callback.pathname !== registered.pathname) return redirectUri;
  registered.port = callback.port;
  return registered.href;
}

/** Checks the callback against `state` (and the issuer, RFC 9207), redeems the code with the verifier, and stores the session. */
async function finish(options: SignInOptions, callback: URL, state: string, verifier: string): Promise<void> {
  const as = await discover(options);
  const client: oauth.Client = { client_id: options.clientId };
  let parameters: URLSearchParams;
  try {
    parameters = oauth.validateAuthResponse(as, client, callback, state);
  } catch (error) {
    throw failed('the callback', error);
  }
  const redirectUri = redirectUriOf(options.redirectUri, callback);
  const exchange = async (extra: object = {}) => {
    const request = { ...requestOptions(options), ...extra };
    const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), parameters, redirectUri, verifier, request);
    return oauth.processAuthorizationCodeResponse(as, client, response);
  };
  const setSession = (tokenResponse: unknown) => options.coordinator.setSession(tokenResponse);
  try {
    if (options.dpop) {
      // A use_dpop_nonce answer consumed no code: the proof maker has its nonce, so one more attempt.
      const attempt = (proofs: DpopRequestOptions) => exchange(proofs).catch((error: unknown) => (oauth.isDPoPNonceError(error) ? exchange(proofs) : Promise.reject(error)));
      await options.dpop.signIn(attempt, setSession);
    } else {
      const tokenResponse = await exchange();
      await setSession(tokenResponse);
    }
  } catch (error) {
    throw failed(`the code exchange at ${as.token_endpoint ?? options.issuer}`, error);
  }
}

/**
 * Sends this page to the provider's authorization page; `completeSignIn`, on the redirect URI's
 * page, finishes. The state and PKCE verifier wait in this tab's sessionStorage (not shared with
 * other tabs, gone with the tab) and are taken once.
 * @throws SIGN_IN_FAILED when discovery fails (as a rejection)
 */
export async function signInWithRedirect(options: SignInOptions): Promise<void> {
  const started = await start(options);
  const pending: Pending = { issuer: options.issuer, clientId: options.clientId, state: started.state, verifier: started.verifier, returnTo: location.href };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  location.assign(started.url);
}

function takePending(options: SignInOptions, state: string): Pending | undefined {
  let pending: Partial<Pending> | null = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as Partial<Pending> | null;
  } catch {
    sessionStorage.removeItem(PENDING_KEY);
  }
  // Another provider's sign-in, with its own `completeSignIn`, is left for it.
  if (pending?.issuer !== options.issuer || pending.clientId !== options.clientId || pending.state !== state) return undefined;
  sessionStorage.removeItem(PENDING_KEY);
  return pending as Pending;
}

/**
 * Call on every load of the redirect URI's page. Resolves false when this page is not a
 * sign-in callback. A callback of `signInWithRedirect` in this tab: the code is redeemed, the
 * session stored for every window, the address put back as it was before the sign-in, and true.
 * In a `signInWithPopup` popup: the callback goes to the window that opened it (which closes the
 * popup), and true.
 * @throws SIGN_IN_CANCELLED when the user refused at the provider; SIGN_IN_FAILED when the
 *   state matches no sign-in of this tab (a forged, replayed or stale callback), the provider
 *   answered an error, or the exchange failed (as rejections)
 */
export async function completeSignIn(options: SignInOptions): Promise<boolean> {
  const callback = new URL(location.href);
  const state = callback.searchParams.get('state');
  if (state === null || !(callback.searchParams.has('code') || callback.searchParams.has('error'))) return false;
  const pending = takePending(options, state);
  if (pending) {
    // The code is used once: a reload of this address must not redeem it again.
    history.replaceState(null, '', new URL(pending.returnTo).origin === location.origin ? pending.returnTo : location.pathname);
    await finish(options, callback, pending.state, pending.verifier);
    return true;
  }
  if (window.opener !== null) {
    const channel = new BroadcastChannel(CALLBACK_CHANNEL);
    channel.postMessage({ callback: callback.href });
    channel.close();
    return true;
  }
  history.replaceState(null, '', location.pathname);
  throw new TokenHerdError(ErrorCode.SIGN_IN_FAILED, 'sign-in failed at the callback: its state matches no sign-in started in this tab');
}

/** Resolves with the callback that carries `state`; SIGN_IN_CANCELLED when `popup` is closed first. */
function popupCallback(popup: Window, state: string): Promise<URL> {
  const channel = new BroadcastChannel(CALLBACK_CHANNEL);
  let closedPoll: ReturnType<typeof setInterval> | undefined;
  return new Promise<URL>((resolve, reject) => {
    channel.onmessage = ({ data }: MessageEvent<{ callback?: unknown }>) => {
      const callback = typeof data?.callback === 'string' ? URL.parse(data.callback) : null;
      if (callback?.searchParams.get('state') === state) resolve(callback);
    };
    // No event tells a window that a popup it opened was closed by the user.
    closedPoll = setInterval(() => {
      if (popup.closed) reject(new TokenHerdError(ErrorCode.SIGN_IN_CANCELLED, 'the sign-in popup was closed'));
    }, 250);
  }).finally(() => {
    clearInterval(closedPoll);
    channel.close();
  });
}

/**
 * Signs in in a popup and keeps this page. Call it from a click handler (a popup opened later
 * is blocked). The popup ends on the redirect URI's page, whose `completeSignIn` hands the
 * callback back here.
 * @throws SIGN_IN_CANCELLED when the popup is closed or the user refused; SIGN_IN_FAILED when
 *   the popup is blocked, or as `completeSignIn` (as rejections)
 */
export async function signInWithPopup(options: SignInOptions): Promise<void> {
  const popup = window.open('about:blank', 'tokenherd-sign-in', 'popup,width=520,height=720');
  if (!popup) throw new TokenHerdError(ErrorCode.SIGN_IN_FAILED, 'the sign-in popup was blocked: call signInWithPopup from a click handler');
  try {
    const started = await start(options);
    popup.location.assign(started.url);
    await finish(options, await popupCallback(popup, started.state), started.state, started.verifier);
  } finally {
    popup.close();
  }
}

/**
 * Signs in through a user agent the app opens, such as the desktop app's system browser:
 * `open` gets the authorization URL and resolves with the callback URL the provider redirected to.
 * The verifier never leaves this window; the state is checked here too.
 * @throws as `completeSignIn`, and whatever `open` rejects with (as rejections)
 */
export async function signInWithUserAgent(options: SignInOptions, open: (authorizationUrl: string) => Promise<string>): Promise<void> {
  const started = await start(options);
  const callback = URL.parse(await open(started.url.href));
  if (!callback) throw new TokenHerdError(ErrorCode.SIGN_IN_FAILED, 'sign-in failed at the callback: the user agent returned no URL');
  await finish(options, callback, started.state, started.verifier);
}
