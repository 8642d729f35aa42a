/**
 * `npm start`: the embedded OAuth server plus the demo window, served by vite.
 * Open the printed address in several tabs, sign in in one, and watch one tab
 * refresh for all of them every time the 30-second access token runs out.
 */
import { createServer } from 'vite';
import { startOAuthServer } from './oauth-server.js';

const oauthPort = Number(process.env['TOKENHERD_OAUTH_PORT'] ?? 9400);
const demoPort = Number(process.env['TOKENHERD_DEMO_PORT'] ?? 5173);
const accessTokenTtlSeconds = Number(process.env['TOKENHERD_ACCESS_TOKEN_TTL'] ?? 30);
const demoOrigin = `http://127.0.0.1:${demoPort}`;

const oauth = await startOAuthServer({
  port: oauthPort,
  accessTokenTtlSeconds,
  redirectUris: [`${demoOrigin}/`],
});
process.env['VITE_TOKENHERD_ISSUER'] = oauth.issuer;
const demo = await createServer({ configFile: 'vite.config.ts', server: { port: demoPort } });
await demo.listen();

console.log(`OAuth server (oidc-provider): ${oauth.issuer}  access tokens live ${accessTokenTtlSeconds} s`);
console.log(`Demo window:                  ${demoOrigin}/  (open it in several tabs; sign in with any name and password)`);
console.log('Press Ctrl+C to stop.');

async function stop(): Promise<void> {
  await Promise.allSettled([demo.close(), oauth.close()]);
  process.exit(0);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
