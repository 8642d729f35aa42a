import * as oauth from 'oauth4webapi';
import { createBench } from './harness.js';

/**
 * What an app without coordination does: every window keeps the session in
 * localStorage and refreshes it with oauth4webapi when it finds it expired;
 * one refresh at a time within a window; a rejected refresh signs the window out.
 */
const KEY = 'naive-session';

interface Session {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: number;
}

let as: oauth.AuthorizationServer;
let client: oauth.Client;
let pending: Promise<string> | undefined;

const load = (): Session | undefined => JSON.parse(localStorage.getItem(KEY) ?? 'null') ?? undefined;

function save(response: oauth.TokenEndpointResponse): Session {
  if (response.refresh_token === undefined || response.expires_in === undefined) throw new Error('expected a refresh token and expires_in');
  const session = { accessToken: response.access_token, refreshToken: response.refresh_token, expiresAt: Date.now() + response.expires_in * 1000 };
  localStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

async function refresh(session: Session): Promise<string> {
  const response = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), session.refreshToken, { [oauth.allowInsecureRequests]: true });
  try {
    return save(await oauth.processRefreshTokenResponse(as, client, response)).accessToken;
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant') localStorage.removeItem(KEY);
    throw error;
  }
}

/** This window's handle, which window.ts publishes. */
export const bench = createBench(
  {
    async init(config) {
      as = config.as;
      client = { client_id: config.clientId };
    },
    async signIn(tokenResponse) {
      save(tokenResponse as unknown as oauth.TokenEndpointResponse);
    },
    async getToken() {
      const session = load();
      if (session === undefined) throw new Error('signed out');
      if (Date.now() < session.expiresAt) return session.accessToken;
      pending ??= refresh(session).finally(() => {
        pending = undefined;
      });
      return pending;
    },
    expiresAt: async () => load()?.expiresAt,
  },
  {},
);
