import { OktaAuth, type AccessToken, type IDToken, type RefreshToken } from '@okta/okta-auth-js';
import { createBench } from './harness.js';

/**
 * @okta/okta-auth-js as its documentation sets it up for several tabs: tokens in
 * localStorage, `syncStorage` (tabs tell each other about new tokens over a
 * BroadcastChannel) and `autoRenew`, which runs only in the tab elected leader.
 * A window that finds its access token expired waits for the renewed one, as an
 * app that follows the `renewed` event or `authState` does. The endpoints come
 * from discovery (the SDK otherwise assumes Okta's `/oauth2/v1/...` paths), and
 * `expireEarlySeconds: 0` (honoured on `localhost` only) makes the leader renew
 * at the expiry instant, like the others, instead of 30 s ahead.
 */
let auth: OktaAuth;
const WAIT_MS = 5_000;

function validAccessToken(): string | undefined {
  const token = auth.tokenManager.getTokensSync().accessToken;
  return token && !auth.tokenManager.hasExpired(token) ? token.accessToken : undefined;
}

/** This window's handle, which window.ts publishes. */
export const bench = createBench(
  {
    async init({ issuer, clientId, as }) {
      auth = new OktaAuth({
        issuer,
        clientId,
        redirectUri: `${location.origin}/`,
        scopes: ['openid', 'offline_access'],
        pkce: true,
        ...(as.authorization_endpoint && { authorizeUrl: as.authorization_endpoint }),
        ...(as.token_endpoint && { tokenUrl: as.token_endpoint }),
        ...(as.userinfo_endpoint && { userinfoUrl: as.userinfo_endpoint }),
        ...(as.revocation_endpoint && { revokeUrl: as.revocation_endpoint }),
        ...(as.end_session_endpoint && { logoutUrl: as.end_session_endpoint }),
        // oidc-provider's access tokens are opaque, not JWTs.
        decodeAccessTokens: false,
        tokenManager: { storage: 'localStorage', autoRenew: true, syncStorage: true, expireEarlySeconds: 0 },
        services: { autoRenew: true, syncStorage: true },
      });
      await auth.start();
    },
    async signIn(response) {
      // The token objects the SDK stores after its own code exchange (handleOAuthResponse).
      const now = Math.floor(Date.now() / 1000);
      const expiresAt = now + Number(response['expires_in']);
      const scopes = String(response['scope']).split(' ');
      const urls = { authorizeUrl: auth.options.authorizeUrl ?? '', issuer: auth.options.issuer ?? '' };
      const idToken = String(response['id_token']);
      const claims = auth.token.decode(idToken).payload;
      auth.tokenManager.setTokens({
        accessToken: { accessToken: String(response['access_token']), expiresAt, tokenType: String(response['token_type']), scopes, authorizeUrl: urls.authorizeUrl, userinfoUrl: auth.options.userinfoUrl ?? '', claims: { sub: String(claims.sub) } } as AccessToken,
        refreshToken: { refreshToken: String(response['refresh_token']), expiresAt, scopes, tokenUrl: auth.options.tokenUrl ?? '', authorizeUrl: urls.authorizeUrl, issuer: urls.issuer } as RefreshToken,
        idToken: { idToken, claims, expiresAt: Number(claims.exp) - Number(claims.iat) + now, scopes, authorizeUrl: urls.authorizeUrl, issuer: urls.issuer, clientId: auth.options.clientId ?? '' } as IDToken,
      });
    },
    getToken() {
      const valid = validAccessToken();
      if (valid !== undefined) return Promise.resolve(valid);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const token = validAccessToken();
          if (token === undefined) return;
          stop();
          resolve(token);
        };
        const fail = (error: unknown): void => {
          stop();
          reject(error);
        };
        const timer = setTimeout(() => fail(new Error(`no renewed token within ${WAIT_MS} ms`)), WAIT_MS);
        const stop = (): void => {
          clearTimeout(timer);
          auth.tokenManager.off('renewed', check);
          auth.tokenManager.off('added', check);
          auth.tokenManager.off('error', fail);
        };
        auth.tokenManager.on('renewed', check);
        auth.tokenManager.on('added', check);
        auth.tokenManager.on('error', fail);
      });
    },
    async expiresAt() {
      const expires = auth.tokenManager.getTokensSync().accessToken?.expiresAt;
      return expires === undefined ? undefined : expires * 1000;
    },
  },
  {},
);
