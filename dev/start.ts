/**
 * `npm start`: the embedded OAuth server plus the demo window, served by vite.
 * Where the Electron binary is installed it runs the desktop app (several
 * windows, an embedded view of another origin, sealed refresh tokens);
 * elsewhere the browser demo: open the printed address in several tabs, sign in
 * in one, and watch one tab refresh for all of them every time the 30-second
 * access token runs out. It prints which one it runs, and why.
 * TOKENHERD_SHELL=browser|electron chooses explicitly.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { DEFAULT_SIGN_IN_REDIRECT } from '../src/main/sign-in.js';
import { buildElectron } from './build-electron.js';
import { findElectronBinary } from './electron-binary.js';
import { embeddedDemoPage, startSite } from './embedded-site.js';
import { startOAuthServer } from './oauth-server.js';

const oauthPort = Number(process.env['TOKENHERD_OAUTH_PORT'] ?? 9400);
const demoPort = Number(process.env['TOKENHERD_DEMO_PORT'] ?? 5173);
const embeddedPort = Number(process.env['TOKENHERD_EMBEDDED_PORT'] ?? 9401);
const accessTokenTtlSeconds = Number(process.env['TOKENHERD_ACCESS_TOKEN_TTL'] ?? 30);
const demoOrigin = `http://127.0.0.1:${demoPort}`;
const embeddedOrigin = `http://127.0.0.1:${embeddedPort}`;

const shell = process.env['TOKENHERD_SHELL'];
const electron = findElectronBinary();
if (shell === 'electron' && !electron.ok) {
  console.error(`TOKENHERD_SHELL=electron, but ${electron.reason}.`);
  process.exit(1);
}
const desktop = shell !== 'browser' && electron.ok;
console.log(
  desktop
    ? `Running the desktop app (Electron: ${electron.path}).`
    : `Running the browser demo: ${shell === 'browser' ? 'TOKENHERD_SHELL=browser' : electron.ok ? '' : `${electron.reason}`}.`,
);

const oauth = await startOAuthServer({
  port: oauthPort,
  accessTokenTtlSeconds,
  redirectUris: [`${demoOrigin}/`, ...(desktop ? [DEFAULT_SIGN_IN_REDIRECT] : [])],
  ...(desktop && { corsOrigins: [embeddedOrigin] }),
});
process.env['VITE_TOKENHERD_ISSUER'] = oauth.issuer;
const demo = await createServer({ configFile: 'vite.config.ts', server: { port: demoPort } });
await demo.listen();
const site = desktop ? await startSite({ port: embeddedPort, html: embeddedDemoPage({ apiUrl: `${oauth.issuer}/me`, provider: 'demo' }) }) : undefined;

console.log(`OAuth server (oidc-provider): ${oauth.issuer}  access tokens live ${accessTokenTtlSeconds} s`);

async function stop(): Promise<void> {
  await Promise.allSettled([demo.close(), oauth.close(), site?.close()]);
  process.exit(0);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

if (desktop && electron.ok) {
  await buildElectron({ pages: false });
  const main = fileURLToPath(new URL('../dist/electron/main.cjs', import.meta.url));
  console.log(`Desktop app: two windows (File > New Window for more; View > Embedded View shows ${embeddedOrigin}/). Sign-in opens your system browser: any name and password.`);
  // Chromium refuses to run as root with its sandbox on (containers, CI machines).
  const app = spawn(electron.path, [main, ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])], {
    stdio: 'inherit',
    env: {
      ...process.env,
      TOKENHERD_ISSUER: oauth.issuer,
      TOKENHERD_DEV_SERVER_URL: demoOrigin,
      TOKENHERD_EMBEDDED_URL: `${embeddedOrigin}/`,
    },
  });
  app.once('exit', () => void stop());
} else {
  console.log(`Demo window:                  ${demoOrigin}/  (open it in several tabs; sign in with any name and password)`);
  console.log('Press Ctrl+C to stop.');
}
