/**
 * The desktop shell's IPC contract: one type maps each channel to its request
 * and response, and the typed wrappers on both sides (`src/main/ipc.ts`,
 * `src/preload/ipc.ts`) accept nothing else. Pure data and validators: no
 * Electron, no DOM, no Node.
 *
 * Every response is an {@link IpcResult}: errors cross IPC and structured clone
 * without their class, so they travel as `{ ok: false, code, message }` and
 * callers branch on `code`, one of the core's `ErrorCode` or the shell's
 * `DesktopErrorCode` (./errors.ts).
 */
import { MAX_SESSION_KEY_LENGTH } from '../shared/messages.js';
import { MAX_TOKEN_LENGTH } from '../shared/session.js';
import { isIpcErrorCode, type IpcErrorCode } from './errors.js';

/**
 * Every IPC response: the channel's value, or a refusal with a code of either set
 * (`ErrorCode` or `DesktopErrorCode`) and a message. Plain data, so it survives
 * structured clone; never an `Error`.
 */
export type IpcResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: IpcErrorCode; readonly message: string };

/** What the main process asks an app window's coordinator for. */
export interface TokenQuery {
  readonly minValiditySeconds?: number;
  readonly forceRefresh?: boolean;
}

/** main -> app window: "give me an access token of `sessionKey`"; answered on `tokenherd:broker-answer` with the same id. */
export interface BrokerRequest extends TokenQuery {
  readonly id: string;
  readonly sessionKey: string;
}

/** An app window's answer. By construction it can carry an access token, never a refresh token. */
export type BrokerAnswer =
  | { readonly ok: true; readonly accessToken: string }
  | { readonly ok: false; readonly code: IpcErrorCode; readonly message: string };

/** An app window's answer on `tokenherd:broker-answer`: the answer and the id of the request it answers. */
export type BrokerAnswerMessage = BrokerAnswer & { readonly id: string };

/**
 * A token endpoint request an app window asks the main process to send: for a
 * provider whose token endpoint allows no CORS (GitHub's), and so that the
 * client secret stays in the main process. `body` is the form the window's
 * oauth4webapi built, without any client secret.
 * @see RFC 6749 §6 (the refresh_token grant it carries)
 */
export interface RelayedTokenRequest {
  readonly url: string;
  readonly body: string;
}

/**
 * The provider's answer, as the window's `fetch` would have seen it.
 * @see RFC 6749 §5.1, §5.2 (the successful and the error response it carries)
 */
export interface RelayedTokenResponse {
  readonly status: number;
  /** Only {@link RELAYED_RESPONSE_HEADERS}. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Channels the renderer invokes and the main process handles. */
export interface IpcContract {
  /** App windows only. Encrypts with the OS keychain (Electron `safeStorage`); returns base64. */
  'tokenherd:seal': { request: { readonly text: string }; response: { readonly sealed: string } };
  /** App windows only. */
  'tokenherd:unseal': { request: { readonly sealed: string }; response: { readonly text: string } };
  /** App windows only. Opens the dedicated sign-in window on the configured issuer; resolves with the redirect it intercepted. */
  'tokenherd:sign-in': { request: { readonly authorizationUrl: string }; response: { readonly callbackUrl: string } };
  /** App windows only. The window can (or can no longer) answer token requests for `sessionKey`. */
  'tokenherd:broker-ready': { request: { readonly sessionKey: string; readonly ready: boolean }; response: null };
  /** App windows only: the answer to a `tokenherd:broker-request`, from the window that was asked. */
  'tokenherd:broker-answer': { request: BrokerAnswerMessage; response: null };
  /** App windows only. Sends a refresh_token grant to the configured token endpoint, adding the client secret if one is configured. */
  'tokenherd:token-request': { request: RelayedTokenRequest; response: RelayedTokenResponse };
  /** Embedded views of an origin the provider's allowlist names: an access token, nothing else. */
  'tokenherd:view-access-token': { request: { readonly provider: string }; response: { readonly accessToken: string } };
}

/** The name of one channel the renderer invokes. */
export type IpcChannel = keyof IpcContract;
/** What channel `C` accepts: exactly this shape, which `validateRequest[C]` checks. */
export type IpcRequest<C extends IpcChannel> = IpcContract[C]['request'];
/** What channel `C` answers on success, inside an {@link IpcResult}. */
export type IpcResponse<C extends IpcChannel> = IpcContract[C]['response'];

/** Channels the main process sends to renderers. */
export interface IpcEvents {
  'tokenherd:broker-request': BrokerRequest;
}

/** Every channel of {@link IpcContract}, each once: the main process handles exactly these. */
export const IPC_CHANNELS = [
  'tokenherd:seal',
  'tokenherd:unseal',
  'tokenherd:sign-in',
  'tokenherd:broker-ready',
  'tokenherd:broker-answer',
  'tokenherd:token-request',
  'tokenherd:view-access-token',
] as const satisfies readonly IpcChannel[];
/** The one channel the main process sends on: a token request to an app window. */
export const BROKER_REQUEST_CHANNEL = 'tokenherd:broker-request' satisfies keyof IpcEvents;

/** The longest sealed (base64) refresh token `tokenherd:unseal` accepts. */
export const MAX_SEALED_LENGTH = 65_536;
/** The longest URL (sign-in, relay target) or relayed header value that crosses the boundary. */
export const MAX_URL_LENGTH = 8_192;
/** The longest error message of a broker answer; IPC refusals may be up to four times longer. */
export const MAX_MESSAGE_LENGTH = 1_000;
/** The longest form a window may have the token relay send. */
export const MAX_TOKEN_REQUEST_LENGTH = 16_384;
/** The longest token endpoint answer the relay hands back; a longer one is refused as INVALID_RESPONSE. */
export const MAX_TOKEN_RESPONSE_LENGTH = 65_536;
const ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A provider id of the broker's configuration (`github`, `docs.example`): lower case, at most 64 characters. */
export const PROVIDER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

type Check = (value: unknown) => boolean;

const string =
  (max: number, min = 1): Check =>
  (v) =>
    typeof v === 'string' && v.length >= min && v.length <= max;
const matches =
  (pattern: RegExp): Check =>
  (v) =>
    typeof v === 'string' && pattern.test(v);
const boolean: Check = (v) => typeof v === 'boolean';
const optional =
  (check: Check): Check =>
  (v) =>
    v === undefined || check(v);
const seconds: Check = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 86_400;
const base64: Check = (v) => string(MAX_SEALED_LENGTH)(v) && /^[A-Za-z0-9+/]+={0,2}$/.test(v as string);

/** Accepts a plain object whose own keys are all in `shape` (optional ones may be absent) and pass their checks. */
function exact(value: unknown, shape: Record<string, Check>): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const record = value as Record<string, unknown>;
  if (!Object.keys(record).every((key) => Object.hasOwn(shape, key))) return false;
  return Object.entries(shape).every(([key, check]) => check(Object.hasOwn(record, key) ? record[key] : undefined));
}

/** True for a well-formed `tokenherd:broker-request`: the preload drops anything else the main process might send. */
export function isBrokerRequest(value: unknown): value is BrokerRequest {
  return exact(value, {
    id: matches(ID),
    sessionKey: string(MAX_SESSION_KEY_LENGTH),
    minValiditySeconds: optional(seconds),
    forceRefresh: optional(boolean),
  });
}

/**
 * True for a well-formed broker answer: an access token, or a code of either set
 * and a message; never any other field, so an answer cannot carry a refresh token.
 */
export function isBrokerAnswerMessage(value: unknown): value is BrokerAnswerMessage {
  if (typeof value !== 'object' || value === null) return false;
  return (value as { ok?: unknown }).ok === true
    ? exact(value, { id: matches(ID), ok: boolean, accessToken: string(MAX_TOKEN_LENGTH) })
    : exact(value, { id: matches(ID), ok: boolean, code: isIpcErrorCode, message: string(MAX_MESSAGE_LENGTH, 0) });
}

/** Request validators, one per channel: the main process refuses anything they reject. */
export const validateRequest: { readonly [C in IpcChannel]: (payload: unknown) => payload is IpcRequest<C> } = {
  'tokenherd:seal': (p): p is IpcRequest<'tokenherd:seal'> => exact(p, { text: string(MAX_TOKEN_LENGTH) }),
  'tokenherd:unseal': (p): p is IpcRequest<'tokenherd:unseal'> => exact(p, { sealed: base64 }),
  'tokenherd:sign-in': (p): p is IpcRequest<'tokenherd:sign-in'> => exact(p, { authorizationUrl: string(MAX_URL_LENGTH) }),
  'tokenherd:broker-ready': (p): p is IpcRequest<'tokenherd:broker-ready'> =>
    exact(p, { sessionKey: string(MAX_SESSION_KEY_LENGTH), ready: boolean }),
  'tokenherd:broker-answer': isBrokerAnswerMessage,
  'tokenherd:token-request': (p): p is IpcRequest<'tokenherd:token-request'> =>
    exact(p, { url: string(MAX_URL_LENGTH), body: string(MAX_TOKEN_REQUEST_LENGTH) }),
  'tokenherd:view-access-token': (p): p is IpcRequest<'tokenherd:view-access-token'> => exact(p, { provider: matches(PROVIDER_ID) }),
};

/**
 * The response headers a token endpoint client reads: all the relay passes on.
 * @see RFC 9110 §10.2.3 (Retry-After), RFC 6750 §3 (WWW-Authenticate)
 */
export const RELAYED_RESPONSE_HEADERS: readonly string[] = ['content-type', 'retry-after', 'www-authenticate'];

/** What the window accepts from the relay: a status a `Response` can have, the three headers, a bounded body. */
export function isRelayedTokenResponse(value: unknown): value is RelayedTokenResponse {
  const headers: Check = (v) =>
    typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype &&
    Object.entries(v).every(([name, text]) => RELAYED_RESPONSE_HEADERS.includes(name) && string(MAX_URL_LENGTH, 0)(text));
  const status: Check = (v) => Number.isInteger(v) && (v as number) >= 200 && (v as number) <= 599;
  return exact(value, { status, headers, body: string(MAX_TOKEN_RESPONSE_LENGTH, 0) });
}

/** Shape check of what comes back from an invoke (the renderer does not trust it blindly either). */
export function isIpcResult(value: unknown): value is IpcResult<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const { ok } = value as { ok?: unknown };
  if (ok === true) return Object.hasOwn(value, 'value');
  return ok === false && exact(value, { ok: boolean, code: isIpcErrorCode, message: string(MAX_MESSAGE_LENGTH * 4, 0) });
}

/**
 * What the app preload exposes as the global `tokenherdDesktop` (through
 * `contextBridge`; never `ipcRenderer` itself). Results are plain data so they
 * keep their `code` across the bridge.
 */
export interface DesktopAppBridge {
  readonly version: 1;
  /** The redirect URI the dedicated sign-in window intercepts; use it as `redirect_uri`. */
  readonly signInRedirectUri: string;
  /** `background` for the hidden window the main process keeps when no app window is open. */
  readonly role: 'window' | 'background';
  seal(text: string): Promise<IpcResult<string>>;
  unseal(sealed: string): Promise<IpcResult<string>>;
  /** Opens the sign-in window; resolves with the callback URL (code and state) the provider redirected to. */
  signIn(authorizationUrl: string): Promise<IpcResult<string>>;
  /** Has the main process send a token endpoint request (see `relayedFetch`). */
  relayTokenRequest(request: RelayedTokenRequest): Promise<IpcResult<RelayedTokenResponse>>;
  /** Answers the main process's token requests for `sessionKey` until the returned function is called. */
  serveTokenRequests(sessionKey: string, answer: (query: TokenQuery) => Promise<BrokerAnswer>): () => void;
}

/** What the embedded-view preload exposes as the global `tokenherdBroker`. */
export interface EmbeddedViewBridge {
  /** An access token of `provider`, if this page's origin is on the provider's allowlist. Rejects with `CODE: message`. */
  getAccessToken(provider: string): Promise<string>;
}

/** The global name of the app windows' {@link DesktopAppBridge}. */
export const DESKTOP_BRIDGE_GLOBAL = 'tokenherdDesktop';
/** The global name of the embedded views' {@link EmbeddedViewBridge}. */
export const EMBEDDED_BRIDGE_GLOBAL = 'tokenherdBroker';
/**
 * The argument prefix that gives the app preload the sign-in redirect URI, among the
 * `webPreferences.additionalArguments` the main process passes (sandboxed preloads can read `process.argv`).
 */
export const ARG_SIGN_IN_REDIRECT = '--tokenherd-sign-in-redirect=';
/** The argument prefix that tells the app preload its window's role (`window` or `background`). */
export const ARG_ROLE = '--tokenherd-role=';
