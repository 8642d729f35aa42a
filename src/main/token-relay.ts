/**
 * The token relay: the main process sends an app window's refresh request to the
 * provider's token endpoint and hands back the answer. It exists for providers
 * whose token endpoint allows no CORS (GitHub's): a page's own POST there is
 * still sent and processed (a form POST needs no preflight), so the provider
 * rotates the refresh token, but the page may not read the answer and the new
 * token is lost. The lock, the store and the decision to refresh stay in the
 * windows; the relay only carries one request. It also keeps the client secret
 * out of the windows: it is added here.
 */
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { MAX_TOKEN_RESPONSE_LENGTH, RELAYED_RESPONSE_HEADERS, type RelayedTokenRequest, type RelayedTokenResponse } from '../desktop/ipc-contract.js';
import { isLoopbackHttp } from './origins.js';

/** The relay's one target and the client secret it adds; checked by {@link parseTokenRelayConfig}. */
export interface TokenRelayConfig {
  /** The one URL the relay sends to: https, or http on a loopback host (development). */
  readonly tokenEndpoint: string;
  /** Added to each request as `client_secret` (client_secret_post, as GitHub's refresh wants). */
  readonly clientSecret?: string;
}

/** Options of {@link createTokenRelay}: the `fetch` and the deadline of the one request it sends. */
export interface TokenRelayOptions {
  readonly fetch?: typeof fetch;
  /** The request is abandoned after this long; the window's own request timeout is usually shorter. Default 30 000. */
  readonly timeoutMs?: number;
}

/** The form fields a refresh_token grant from a public client carries (RFC 6749 section 6, RFC 8707). */
const FORM_FIELDS = new Set(['grant_type', 'refresh_token', 'client_id', 'scope', 'resource']);

/** Checks the configuration; throws an Error that names the problem. */
export function parseTokenRelayConfig(input: { tokenEndpoint: string; clientSecret?: string | undefined }): TokenRelayConfig {
  const url = URL.parse(input.tokenEndpoint);
  if (!url || !(url.protocol === 'https:' || isLoopbackHttp(url)) || url.username || url.password || url.hash) {
    throw new Error(`the token relay's endpoint must be an https URL (or http on a loopback host), got ${input.tokenEndpoint}`);
  }
  if (input.clientSecret === '') throw new Error("the token relay's client secret must not be empty");
  return { tokenEndpoint: url.href, ...(input.clientSecret !== undefined && { clientSecret: input.clientSecret }) };
}

/**
 * Returns the `tokenherd:token-request` handler: refuses anything but a refresh_token grant to the configured endpoint.
 * @see RFC 6749 §6 (the refresh request), §2.3.1 (the client secret in the request body)
 */
export function createTokenRelay(config: TokenRelayConfig | undefined, options: TokenRelayOptions = {}): (request: RelayedTokenRequest) => Promise<RelayedTokenResponse> {
  const send = options.fetch ?? globalThis.fetch.bind(globalThis);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return async ({ url, body }) => {
    if (config === undefined) throw new TokenHerdError(DesktopErrorCode.NOT_ALLOWED, 'no token endpoint is configured for relaying');
    if (url !== config.tokenEndpoint) throw new TokenHerdError(DesktopErrorCode.NOT_ALLOWED, `the relay sends only to ${config.tokenEndpoint}, not ${url}`);
    const form = new URLSearchParams(body);
    const fields = [...form.keys()];
    if (form.get('grant_type') !== 'refresh_token' || !form.get('refresh_token') || fields.some((field) => !FORM_FIELDS.has(field)) || new Set(fields).size !== fields.length) {
      throw new TokenHerdError(DesktopErrorCode.INVALID_PAYLOAD, `the relay sends a refresh_token grant with the fields ${[...FORM_FIELDS].join(', ')} only, each once`);
    }
    if (config.clientSecret !== undefined) form.set('client_secret', config.clientSecret);
    let response: Response;
    let text: string;
    try {
      response = await send(config.tokenEndpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
        body: form.toString(),
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      // Whether the provider processed it is unknown, as with a lost response; the window treats it so.
      throw new TokenHerdError(ErrorCode.TRANSIENT, `no answer from the token endpoint: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (text.length > MAX_TOKEN_RESPONSE_LENGTH) {
      throw new TokenHerdError(DesktopErrorCode.INVALID_RESPONSE, `the token endpoint answered HTTP ${response.status} with ${text.length} characters, more than ${MAX_TOKEN_RESPONSE_LENGTH}`);
    }
    const headers = Object.fromEntries(RELAYED_RESPONSE_HEADERS.flatMap((name) => {
      const value = response.headers.get(name);
      return value === null ? [] : [[name, value]];
    }));
    return { status: response.status, headers, body: text };
  };
}
