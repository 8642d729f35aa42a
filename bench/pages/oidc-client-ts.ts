import { User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { createBench } from './harness.js';

/**
 * oidc-client-ts as its documentation sets it up for a session shared by tabs:
 * a `UserManager` per window whose user store is localStorage, refreshing with
 * `signinSilent` (which uses the refresh token when the user has one).
 * `automaticSilentRenew` is off so that the refresh starts at the shared expiry
 * instant; with it on, every window's own timer fires at the same instant anyway.
 */
let manager: UserManager;

function claims(idToken: string): Record<string, unknown> {
  const payload = idToken.split('.')[1] ?? '';
  return JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
}

/** This window's handle, which window.ts publishes. */
export const bench = createBench(
  {
    async init({ issuer, clientId }) {
      manager = new UserManager({
        authority: issuer,
        client_id: clientId,
        redirect_uri: `${location.origin}/`,
        scope: 'openid offline_access',
        userStore: new WebStorageStateStore({ store: window.localStorage }),
        automaticSilentRenew: false,
      });
      await manager.metadataService.getMetadata();
    },
    async signIn(response) {
      const idToken = String(response['id_token']);
      // What signinCallback stores after the authorization code exchange.
      await manager.storeUser(
        new User({
          access_token: String(response['access_token']),
          refresh_token: String(response['refresh_token']),
          id_token: idToken,
          token_type: String(response['token_type']),
          scope: String(response['scope']),
          profile: claims(idToken) as User['profile'],
          expires_at: Math.floor(Date.now() / 1000) + Number(response['expires_in']),
        }),
      );
    },
    async getToken() {
      const user = await manager.getUser();
      if (user === null) throw new Error('signed out');
      if (user.expired === false) return user.access_token;
      const renewed = await manager.signinSilent();
      if (renewed === null) throw new Error('signinSilent returned no user');
      return renewed.access_token;
    },
    async expiresAt() {
      const expires = (await manager.getUser())?.expires_at;
      return expires === undefined ? undefined : expires * 1000;
    },
  },
  {},
);
