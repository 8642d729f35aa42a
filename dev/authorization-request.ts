import * as oauth from 'oauth4webapi';

/** An authorization request and the secrets its callback is checked and redeemed with. */
export interface AuthorizationRequest {
  readonly url: URL;
  /** The PKCE code verifier, sent with the code exchange. */
  readonly verifier: string;
  /** Compared with the callback's `state`. */
  readonly state: string;
}

/**
 * The authorization code request the embedded server's clients make: PKCE with S256,
 * `offline_access` for a refresh token, and `prompt=consent`, which oidc-provider
 * requires before it issues one.
 * @see RFC 6749 §4.1.1, RFC 7636 §4.3
 */
export async function authorizationRequest(endpoint: string, clientId: string, redirectUri: string): Promise<AuthorizationRequest> {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(endpoint);
  url.search = new URLSearchParams({
    client_id: clientId,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid offline_access',
    prompt: 'consent',
    state,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  }).toString();
  return { url, verifier, state };
}
