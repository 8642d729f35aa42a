import { invalidOption, resolveSettings, type CoordinatorSettings, type ProviderProfile, type ResolvedSettings } from '../shared/settings.js';
import type { CoordinatorPorts } from '../shared/coordinator.js';
import type { Clock, SessionStore } from '../shared/ports.js';
import type { Sealing, SealingPorts } from './sealing.js';
import { createTokenEndpoint, type OAuthClientOptions, type TokenEndpointOptions } from './token-endpoint.js';

/**
 * The options every `createTokenCoordinator` takes, in the browser and in Node: the provider,
 * the client, how the provider rotates refresh tokens, and how they are kept at rest.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-6 (refreshing an access token)
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 (refresh token protection)
 */
export interface ProviderOptions extends CoordinatorSettings {
  /** The authorization server's issuer identifier, e.g. `https://github.com`. */
  readonly issuer: string;
  /** The token endpoint; when absent it is found by discovery from `issuer` on the first refresh. */
  readonly tokenEndpoint?: string;
  readonly client: OAuthClientOptions;
  /**
   * How the provider treats used refresh tokens (see `ProviderProfile`). `github`
   * also makes the client authenticate with `client_secret_post` by default and
   * requires `client.client_secret`, as GitHub's refresh does.
   */
  readonly profile?: ProviderProfile;
  /** Allows `http://` issuer and token endpoint URLs. Development only: tokens would cross the network in clear. */
  readonly allowInsecureRequests?: boolean;
  /** Used for token requests and by `coordinator.fetch`. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /**
   * Used for token endpoint requests (and discovery) instead of `fetch`. In the Electron
   * shell, `relayedFetch(window.tokenherdDesktop)` has the main process send them: for a
   * provider whose token endpoint allows no CORS (GitHub's), which a page cannot use.
   */
  readonly tokenEndpointFetch?: typeof fetch;
  /**
   * Seals the refresh token at rest: `sealing: sealWith(sealer)` (see sealed-store.ts). Without
   * it the refresh token is stored in plaintext, and no sealing code is bundled.
   */
  readonly sealing?: Sealing;
}

function checkUrl(name: string, value: unknown, allowInsecure: boolean): void {
  if (typeof value !== 'string' || !URL.canParse(value)) throw invalidOption(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
  const { protocol } = new URL(value);
  if (protocol === 'https:' || (protocol === 'http:' && allowInsecure)) return;
  throw invalidOption(`${name} must use https: (set allowInsecureRequests for an http: development server), got ${value}`);
}

type AuthMethod = NonNullable<OAuthClientOptions['token_endpoint_auth_method']>;
const isAuthMethod = (value: string): value is AuthMethod => ['none', 'client_secret_basic', 'client_secret_post'].includes(value);

/**
 * The provider options after `checkProviderOptions`: the resolved settings, the client with
 * its authentication method decided, and the fetch to use.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3 (client authentication)
 */
export interface CheckedProviderOptions {
  /** What the core takes. */
  readonly settings: ResolvedSettings;
  /** What the token endpoint adapter takes, defaults filled in. */
  readonly endpoint: Omit<TokenEndpointOptions, 'dpop'> & { readonly client: OAuthClientOptions & { readonly token_endpoint_auth_method: AuthMethod } };
  /** What `coordinator.fetch` sends with. */
  readonly fetchImpl: typeof fetch;
  readonly sealing?: SealingPorts;
}

/**
 * Validates the options both coordinators share; throws INVALID_OPTIONS. URLs must be https:
 * unless `allowInsecureRequests`, and a confidential client's method needs its secret.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-3.2 (TLS at the token endpoint)
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1 (client password)
 */
export function checkProviderOptions(options: ProviderOptions): CheckedProviderOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options must be an object');
  const settings = resolveSettings(options);
  const allowInsecure = options.allowInsecureRequests === true;
  checkUrl('issuer', options.issuer, allowInsecure);
  if (options.tokenEndpoint !== undefined) checkUrl('tokenEndpoint', options.tokenEndpoint, allowInsecure);
  const { client } = options;
  if (typeof client !== 'object' || client === null || typeof client.client_id !== 'string' || client.client_id === '') {
    throw invalidOption('client.client_id must be a non-empty string');
  }
  const method: string = client.token_endpoint_auth_method ?? (options.profile === 'github' ? 'client_secret_post' : 'none');
  if (!isAuthMethod(method)) {
    throw invalidOption(`client.token_endpoint_auth_method must be none, client_secret_basic or client_secret_post, got ${JSON.stringify(method)}`);
  }
  if (method !== 'none' && (typeof client.client_secret !== 'string' || client.client_secret === '')) {
    throw invalidOption(`client.client_secret is required by ${method}`);
  }
  // The spelling before 0.2: `sealer` made every coordinator carry the sealed store.
  if ('sealer' in options || 'onSealingProblem' in options) throw invalidOption('sealer and onSealingProblem are now sealing: sealWith(sealer, { onSealingProblem })');
  const { sealing } = options;
  if (sealing !== undefined && typeof (sealing as Partial<SealingPorts> | null)?.wrap !== 'function') throw invalidOption('sealing must come from sealWith(sealer)');
  for (const name of ['fetch', 'tokenEndpointFetch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw invalidOption(`${name} must be a function`);
  }
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  return {
    settings,
    endpoint: {
      issuer: options.issuer,
      ...(options.tokenEndpoint !== undefined && { tokenEndpoint: options.tokenEndpoint }),
      client: { ...client, token_endpoint_auth_method: method },
      allowInsecureRequests: allowInsecure,
      fetch: options.tokenEndpointFetch ?? fetchImpl,
    },
    fetchImpl,
    ...(sealing && { sealing: sealing as SealingPorts }),
  };
}

/** The wall clock and the runtime's timers, the same in browsers and Node. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/**
 * The ports both coordinators build alike from their options: the store (sealed with
 * `sealing`), the wall clock and the token endpoint. `store` is the runtime's own.
 * With `sealing`, no refresh token reaches `store` in plaintext unless sealing failed (and was reported).
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 (refresh token protection)
 */
export function providerPorts(
  { settings, endpoint, sealing }: CheckedProviderOptions,
  store: SessionStore,
  proofs: Pick<TokenEndpointOptions, 'dpop'> = {},
): Pick<CoordinatorPorts, 'store' | 'clock' | 'endpoint' | 'sessionIds'> {
  return {
    store: sealing ? sealing.wrap(store) : store,
    clock: systemClock,
    // Refused on every attempt of one refresh: MISCONFIGURED, not TRANSIENT.
    endpoint: createTokenEndpoint({ ...endpoint, ...proofs, misconfiguredAfter: settings.retry.attempts }),
    sessionIds: randomSessionId,
  };
}

/** 128 random bits from Web Crypto (browsers, in insecure contexts too, and Node), as hex. */
function randomSessionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
