// oidc-provider ships no types and @types/oidc-provider is not installed: these
// declarations cover only what dev/oauth-server.ts uses.

declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';
  import type { Readable } from 'node:stream';

  /** The Koa context as the dev server's middleware sees it. */
  export interface KoaContext {
    readonly method: string;
    readonly path: string;
    req: Readable;
    status: number;
    body: unknown;
    is(type: string): string | false | null;
    get(field: string): string;
    set(field: string, value: string): void;
    vary(field: string): void;
    readonly response: { get(field: string): string };
  }

  export type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

  export interface Account {
    accountId: string;
    claims(): { sub: string };
  }

  export interface Adapter {
    find(id: string): Promise<unknown>;
    upsert?(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
    findByUid?(uid: string): Promise<unknown>;
    findByUserCode?(userCode: string): Promise<unknown>;
    consume?(id: string): Promise<void>;
    destroy?(id: string): Promise<void>;
    revokeByGrantId?(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    token_endpoint_auth_method: 'none';
    grant_types: string[];
    response_types: string[];
    redirect_uris: string[];
    scope: string;
    /** Token requests without a DPoP proof fail. */
    dpop_bound_access_tokens?: boolean;
    /** `native`: a loopback redirect URI matches at any port (RFC 8252 §7.3). */
    application_type?: 'web' | 'native';
  }

  export interface Configuration {
    adapter: (model: string) => Adapter;
    clients: ClientMetadata[];
    jwks: { keys: object[] };
    findAccount: (ctx: unknown, sub: string) => Account;
    clientBasedCORS: (ctx: unknown, origin: string) => boolean;
    pkce: { required: () => boolean };
    rotateRefreshToken: boolean;
    issueRefreshToken: () => Promise<boolean>;
    ttl: Record<'AccessToken' | 'Grant' | 'IdToken' | 'Interaction' | 'RefreshToken' | 'Session', number>;
    clockTolerance: number;
    features: {
      devInteractions: { enabled: boolean };
      /** `nonceSecret`: 32 bytes, from which the provider derives its rotating DPoP nonces. */
      dPoP: { enabled: boolean; nonceSecret: Buffer; requireNonce: () => boolean };
    };
  }

  export interface Client {
    readonly clientId: string;
  }

  export interface Grant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  export interface RefreshToken {
    /** Epoch seconds at which the token was rotated; absent while it is unused. */
    readonly consumed?: number;
    /** How many rotations led to this token: 0 for the one the code exchange issued. */
    readonly rotations?: number;
    save(): Promise<string>;
  }

  export interface AccessToken {
    readonly grantId: string;
    destroy(): Promise<void>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly Client: { find(id: string): Promise<Client | undefined> };
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): Grant;
      find(id: string): Promise<Grant | undefined>;
    };
    readonly RefreshToken: {
      /** `jkt`: binds the token to that DPoP key, as a sign-in with a proof does for a public client. */
      new (init: { accountId: string; client: Client; grantId: string; scope: string; gty: string; jkt?: string }): RefreshToken;
      find(value: string, options: { ignoreExpiration: boolean }): Promise<RefreshToken | undefined>;
    };
    readonly AccessToken: { find(value: string, options: { ignoreExpiration: boolean }): Promise<AccessToken | undefined> };
    urlFor(route: 'token' | 'userinfo'): string;
    use(middleware: Middleware): this;
    on(event: 'grant.revoked', listener: () => void): this;
    /** `error_detail` says why; the client only gets a generic `error_description`. */
    on(event: 'grant.error' | 'userinfo.error', listener: (ctx: unknown, error: { error_detail?: string }) => void): this;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}

declare module 'oidc-provider/lib/helpers/lru.js' {
  /** oidc-provider's bounded store behind its in-memory adapter. */
  export default class LRU {
    constructor(options: { maxSize: number });
  }
}

declare module 'oidc-provider/lib/adapters/memory_adapter.js' {
  import type { Adapter } from 'oidc-provider';
  import type LRU from 'oidc-provider/lib/helpers/lru.js';

  export default class MemoryAdapter implements Adapter {
    /** Entries are stored `retainSeconds` past their expiry (oidc-provider calls it clock tolerance). */
    constructor(model: string, store: LRU, retainSeconds?: number);
    find(id: string): Promise<unknown>;
  }
}
