import { completeSignIn, createTokenCoordinator, isTokenHerdError, signInWithRedirect } from 'tokenherd';

// What `npm run oauth-server -- --redirect-uri http://localhost:5173/` printed.
const issuer = 'http://127.0.0.1:9400';
const coordinator = createTokenCoordinator({ sessionKey: 'try-it', issuer, client: { client_id: 'tokenherd-dev' }, allowInsecureRequests: true });
const signIn = {
  coordinator,
  issuer,
  clientId: 'tokenherd-dev',
  redirectUri: `${location.origin}/`,
  parameters: { prompt: 'consent' }, // this server issues a refresh token after the consent page
  allowInsecureRequests: true, // an http:// issuer: development only
};

const output = document.querySelector('output')!;
const show = (text: string) => (output.textContent = `${new Date().toLocaleTimeString()} ${text}\n${output.textContent}`);
coordinator.subscribe((event) => show(JSON.stringify(event)));
document.querySelector('#sign-in')!.addEventListener('click', () => void signInWithRedirect(signIn));
document.querySelector('#open')!.addEventListener('click', () => window.open(location.href));
document.querySelector('#call')!.addEventListener('click', async () => {
  try {
    const response = await coordinator.fetch(`${issuer}/me`); // the server's userinfo endpoint
    show(`userinfo: ${JSON.stringify(await response.json())}`);
  } catch (error) {
    show(isTokenHerdError(error) ? `${error.code}: ${error.message}` : String(error));
  }
});
// Every load: a sign-in that came back to this page is finished, and every tab is signed in.
await completeSignIn(signIn).catch((error: unknown) => show(String(error)));
