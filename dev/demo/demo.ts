/// <reference types="vite/client" />
import * as oauth from 'oauth4webapi';
import { answerTokenQuery } from '../../src/desktop/bridge.js';
import {
  DEFAULT_DATABASE_NAME,
  completeSignIn,
  createDpop,
  createTokenCoordinator,
  isTokenHerdError,
  sealWith,
  signInWithRedirect,
  signInWithUserAgent,
  type SignInOptions,
  type TokenHerdEvent,
} from '../../src/renderer/index.js';
import { startControlRoom } from './control-room.js';
import { connectDesktop } from './desktop.js';

/**
 * Configuration: query parameters, over defaults that `npm start` passes in as
 * VITE_ variables. The browser tests open this same page with their own
 * server's issuer in the query.
 */
// A sign-in's callback comes back without the query: it waits in sessionStorage meanwhile.
const QUERY_KEY = 'tokenherd-demo:query';
const returning = new URL(location.href).searchParams.has('state') ? sessionStorage.getItem(QUERY_KEY) : null;
sessionStorage.removeItem(QUERY_KEY);
const params = new URLSearchParams(returning ?? location.search);
const issuer = params.get('issuer') ?? import.meta.env['VITE_TOKENHERD_ISSUER'] ?? 'http://127.0.0.1:9400';
const clientId = params.get('client_id') ?? 'tokenherd-dev';
const sessionKey = params.get('session') ?? 'demo';
const pollMs = Number(params.get('poll') ?? 5000);
const windowId = params.get('window') ?? Math.random().toString(36).slice(2, 7);

const desktop = connectDesktop(params); // the Electron shell's bridge, when there is one
const profile = params.get('profile');
const grace = /^grace:(\d+)$/.exec(profile ?? '');
const secret = params.get('client_secret');
const numbers = (pairs: Array<[string, string]>) =>
  Object.fromEntries(pairs.flatMap(([query, option]) => (params.has(query) ? [[option, Number(params.get(query))]] : [])));
const tokenEndpoint = params.get('token_endpoint');
// `dpop=1`: tokens bound to the session's DPoP key; the sign-in below binds the code exchange to a new one.
const dpop = params.get('dpop') === '1' ? createDpop({ sessionKey, databaseName: DEFAULT_DATABASE_NAME }) : undefined;
const coordinator = createTokenCoordinator({
  ...(dpop && { dpop }),
  ...(desktop.sealer && { sealing: sealWith(desktop.sealer) }),
  sessionKey,
  issuer,
  ...(tokenEndpoint !== null && { tokenEndpoint }),
  // Relayed requests get the client secret in the main process: the window has none.
  ...(desktop.tokenEndpointFetch && { tokenEndpointFetch: desktop.tokenEndpointFetch }),
  client: {
    client_id: clientId,
    ...(secret !== null && { client_secret: secret }),
    ...(desktop.tokenEndpointFetch && { token_endpoint_auth_method: 'none' }),
  },
  allowInsecureRequests: new URL(issuer).protocol === 'http:',
  refreshLeewaySeconds: Number(params.get('leeway') ?? 5),
  // `auto=0`: refresh only when a caller needs it (the on-demand tests).
  autoRefresh: params.get('auto') !== '0',
  ...(grace ? { profile: { reuseGraceSeconds: Number(grace[1]) } } : profile === 'github' || profile === 'non-rotating' ? { profile } : {}),
  ...numbers([
    ['request_timeout', 'requestTimeoutMs'],
    ['lock_timeout', 'lockTimeoutMs'],
  ]),
  retry: numbers([
    ['retry_attempts', 'attempts'],
    ['retry_base', 'baseDelayMs'],
  ]),
});
const signInOptions: SignInOptions = {
  coordinator,
  issuer,
  clientId,
  // The desktop app's is a loopback URI without a port: the main process listens at a random one.
  redirectUri: desktop.redirectUri ?? `${location.origin}/`,
  // oidc-provider issues a refresh token only after consent.
  parameters: { prompt: 'consent' },
  allowInsecureRequests: new URL(issuer).protocol === 'http:',
  ...(dpop && { dpop }),
};
let server: Promise<oauth.AuthorizationServer> | undefined;
const discover = (): Promise<oauth.AuthorizationServer> =>
  (server ??= oauth
    .discoveryRequest(new URL(issuer), { [oauth.allowInsecureRequests]: true })
    .then((response) => oauth.processDiscoveryResponse(new URL(issuer), response)));

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;
const events: Array<TokenHerdEvent & { at: number }> = [];

function log(text: string): void {
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(item);
  while ($('log').childElementCount > 200) $('log').lastElementChild?.remove();
}

function render(): void {
  const state = coordinator.getState();
  $('status').textContent = state.status;
  $('generation').textContent = String(state.generation);
  $('refreshes').textContent = String(state.refreshRequests);
  $('lock').textContent = state.holdsLock ? 'holds the lock' : 'idle';
  $('lock').classList.toggle('held', state.holdsLock);
  $('role').textContent = state.holdsRole ? 'scheduler' : 'listener';
  $('role').classList.toggle('held', state.holdsRole);
  $('countdown').textContent = state.expiresAt === undefined ? '–' : `${Math.max(0, Math.round((state.expiresAt - Date.now()) / 1000))} s`;
}

coordinator.subscribe((event) => {
  events.push({ ...event, at: Date.now() });
  const { type, ...detail } = event;
  log(`${type} ${JSON.stringify(detail)}`);
  render();
});

async function callApi(): Promise<void> {
  try {
    const as = await discover();
    const response = await coordinator.fetch(as.userinfo_endpoint ?? `${issuer}/me`);
    $('last-call').textContent = `userinfo: HTTP ${response.status}`;
  } catch (error) {
    $('last-call').textContent = isTokenHerdError(error) ? `${error.code}: ${error.message}` : String(error);
  }
  render();
}

async function signIn(): Promise<void> {
  // Electron: the main process opens the system browser and hands back the callback.
  if (desktop.signIn) return signInWithUserAgent(signInOptions, desktop.signIn);
  sessionStorage.setItem(QUERY_KEY, location.search);
  return signInWithRedirect(signInOptions);
}

// `control=0`: no control room. Every window reports to every other twice a second (N² messages) and
// redraws: the conformance suite and the benches, which drive 32 or 64 windows, turn it off.
const controlRoom = params.get('control') === '0' ? undefined : startControlRoom(windowId, coordinator);
$('window-id').textContent = `window ${windowId}${desktop.shell === 'electron' ? ' (desktop)' : ''}`;
desktop.serve(sessionKey, coordinator);
$('sign-in').addEventListener('click', () => void signIn().catch((error: unknown) => log(`sign-in: ${String(error)}`)));
$('sign-out').addEventListener('click', () => void coordinator.signOut());
$('call').addEventListener('click', () => void callApi());
$('open').addEventListener('click', () => window.open(location.href, '_blank'));
setInterval(render, 1000);
if (pollMs > 0) setInterval(() => void callApi(), pollMs);

/** The handle the browser tests use; results are plain data so they cross `page.evaluate`. */
async function token(options?: { forceRefresh?: boolean; minValiditySeconds?: number }) {
  try {
    return { ok: true, token: await coordinator.getAccessToken(options) } as const;
  } catch (error) {
    return { ok: false, code: isTokenHerdError(error) ? error.code : 'UNEXPECTED', message: String(error) } as const;
  }
}

/** One request to the userinfo endpoint through `coordinator.fetch`: its status, or the error's code. */
async function api() {
  try {
    const as = await discover();
    const response = await coordinator.fetch(as.userinfo_endpoint ?? `${issuer}/me`);
    await response.body?.cancel();
    return { ok: true, status: response.status } as const;
  } catch (error) {
    return { ok: false, code: isTokenHerdError(error) ? error.code : 'UNEXPECTED', message: String(error) } as const;
  }
}

/**
 * What the auto refresh tests read: every `ms`, this window calls getAccessToken as an app would
 * and notes whether the call waited (was not served from memory) and how long it took, and
 * whether the token it holds has expired (signed in only).
 */
const watch = {
  calls: 0,
  waited: 0,
  maxLatencyMs: 0,
  expiredSamples: 0,
  latencies: [] as number[],
  /** How late each tick of this window's own timer ran, ms. */
  tickLateness: [] as number[],
  slow: [] as Array<{ leftMs: number | undefined; generation: number }>,
};
function watchEvery(ms: number): void {
  let due = Date.now() + ms;
  setInterval(() => {
    watch.tickLateness.push(Math.max(0, Date.now() - due));
    due = Date.now() + ms;
    const state = coordinator.getState();
    if (state.status !== 'signed-in') return;
    if (state.expiresAt !== undefined && state.expiresAt <= Date.now()) watch.expiredSamples++;
    const started = performance.now();
    let settled = false;
    void coordinator.getAccessToken().then(
      () => {
        settled = true;
        const latency = performance.now() - started;
        watch.calls++;
        watch.latencies.push(latency);
        watch.maxLatencyMs = Math.max(watch.maxLatencyMs, latency);
      },
      () => {},
    );
    // Served from memory settles within this task's microtasks; a store read, a lock or a request takes another task.
    setTimeout(() => {
      if (settled) return;
      watch.waited++;
      watch.slow.push({ leftMs: state.expiresAt === undefined ? undefined : state.expiresAt - Date.now(), generation: state.generation });
    }, 0);
  }, ms);
}
if (params.has('watch')) watchEvery(Number(params.get('watch')));

const handle = {
  controlRoom,
  watch,
  /** Starts the caller loop of `watch` (the `watch=<ms>` query parameter starts it at load). */
  watchEvery,
  // A store that cannot be read leaves the state `unknown`; the next call reports why.
  ready: completeSignIn(signInOptions)
    .catch((error: unknown) => log(`sign-in: ${String(error)}`))
    .then(() => coordinator.reload().catch(() => undefined))
    .then(render),
  windowId,
  coordinator,
  events,
  token,
  api,
  /** What the main process's token broker gets when it asks this window (the Electron preload calls the same function). */
  answerTokenQuery: (query: Parameters<typeof answerTokenQuery>[1]) => answerTokenQuery(coordinator, query),
  /** Asks for a token at wall-clock time `at`, as a timer set for the expiry instant would. */
  tokenAt: (at: number, options?: { forceRefresh?: boolean }) =>
    new Promise<Awaited<ReturnType<typeof token>>>((resolve) => setTimeout(() => resolve(token(options)), Math.max(0, at - Date.now()))),
};
export type DemoHandle = typeof handle;
Object.assign(window, { tokenherdDemo: handle });
