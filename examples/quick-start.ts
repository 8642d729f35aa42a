import { createTokenCoordinator, isTokenHerdError } from 'tokenherd';
import { relayedFetch, type DesktopAppBridge } from 'tokenherd/desktop';

declare const desktop: DesktopAppBridge; // window.tokenherdDesktop, exposed by the app's preload

// One coordinator per provider account, in every window of the desktop app. GitHub's token endpoint
// sends no CORS headers: the main process sends the refresh for the window and adds the client secret.
const github = createTokenCoordinator({
  sessionKey: 'github:octocat',
  issuer: 'https://github.com',
  tokenEndpoint: 'https://github.com/login/oauth/access_token',
  tokenEndpointFetch: relayedFetch(desktop),
  client: { client_id: 'Iv1.0123456789abcdef', token_endpoint_auth_method: 'none' },
  profile: 'github',
  refreshLeewaySeconds: 60,
});

github.subscribe((event) => {
  if (event.type === 'session-changed') console.log(`session ${event.change}, generation ${event.generation}`);
  if (event.type === 'refresh-failed') console.warn(`refresh failed: ${event.code} ${event.reason}`);
});

// After your sign-in flow (GitHub's code exchange needs the client secret too: the main process's
// job): store the token response; every window picks it up.
export async function onSignedIn(tokenResponse: unknown): Promise<void> {
  await github.setSession(tokenResponse);
}

// Anywhere, in any window, as often as you like: one refresh per expiry between all windows.
export async function listRepositories(): Promise<unknown> {
  try {
    const response = await github.fetch('https://api.github.com/user/repos');
    return await response.json();
  } catch (error) {
    if (isTokenHerdError(error, 'SESSION_EXPIRED') || isTokenHerdError(error, 'NOT_SIGNED_IN')) return showSignIn();
    if (isTokenHerdError(error, 'TRANSIENT')) return retryLater();
    throw error;
  }
}

declare function showSignIn(): undefined;
declare function retryLater(): undefined;
