/**
 * `npm run oauth-server -- --redirect-uri URL [--redirect-uri URL ...] [--origin URL ...]
 * [--access-token-ttl S] [--port N] [--fresh]`: the embedded OAuth server (oidc-provider) alone,
 * for your own app. It registers the app's redirect URIs and CORS origins with its one public
 * client, says what it issues and what it does when a refresh token is used twice, logs every
 * token request, and keeps its grants in a file under the OS temp folder, so sessions survive a
 * restart on the same port (`--fresh` starts empty, and says so).
 */
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startOAuthServer } from './oauth-server.js';
import { formatTokenRequest } from './token-request-log.js';

const USAGE = 'usage: npm run oauth-server -- --redirect-uri URL [--redirect-uri URL ...] [--origin URL ...] [--access-token-ttl SECONDS] [--port N] [--fresh]';

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function urls(name: string, values: string[] | undefined): string[] {
  return (values ?? []).map((value) => {
    const url = URL.parse(value);
    if (!url || !['http:', 'https:'].includes(url.protocol)) fail(`--${name} must be an http(s) URL, got ${value}`);
    return name === 'origin' ? url.origin : url.href;
  });
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        'redirect-uri': { type: 'string', multiple: true },
        origin: { type: 'string', multiple: true },
        'access-token-ttl': { type: 'string' },
        port: { type: 'string' },
        fresh: { type: 'boolean' },
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const redirectUris = urls('redirect-uri', values['redirect-uri']);
if (redirectUris.length === 0) fail('--redirect-uri is required: the address of your app page that completes the sign-in');
const corsOrigins = urls('origin', values.origin);
const accessTokenTtlSeconds = Number(values['access-token-ttl'] ?? 3600);
if (!Number.isInteger(accessTokenTtlSeconds) || accessTokenTtlSeconds < 1) fail('--access-token-ttl must be a whole number of seconds');
const port = Number(values.port ?? 9400);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail('--port must be a port number');

// One file per port: the issuer names the port, and tokens are only good at their issuer.
const grantsFile = join(tmpdir(), `tokenherd-oauth-server-${port}.json`);
if (values.fresh) rmSync(grantsFile, { force: true });
const kept = port !== 0 && existsSync(grantsFile);
const server = await startOAuthServer({
  port,
  accessTokenTtlSeconds,
  redirectUris,
  corsOrigins,
  ...(port !== 0 && { grantsFile }),
  onTokenRequest: (entry) => console.log(formatTokenRequest(entry)),
});
const origins = [...new Set([...corsOrigins, ...redirectUris.map((uri) => new URL(uri).origin)])];

console.log(`tokenherd's embedded OAuth server (oidc-provider), for development only
  issuer:          ${server.issuer}
  client id:       ${server.clientId} (public: no secret; PKCE with S256 required)
  scopes:          openid offline_access (offline_access gives a refresh token, after the consent page: send prompt=consent)
  redirect URIs:   ${redirectUris.join(', ')}
  CORS origins:    ${origins.join(', ')}
  token endpoint:  ${server.tokenEndpoint}
  access tokens live ${accessTokenTtlSeconds} s; refresh tokens ${server.refreshTokenTtlSeconds / 86_400} days, rotated on every use.
  A refresh token used twice is refused (invalid_grant) and its whole grant revoked (reuse detection).
  Sign in with any name and any password.`);
console.log(
  port === 0
    ? '\n  !! GRANTS ARE NOT KEPT: with --port 0 the next start has another issuer, so every session of this run ends with it. !!\n'
    : kept
      ? `  Grants kept in ${grantsFile}: sessions from the last run on this port still refresh (--fresh to start empty).`
      : `  Grants kept in ${grantsFile} from now on${values.fresh ? ' (--fresh: the previous ones are gone)' : ''}: sessions survive a restart on this port.`,
);
console.log('Press Ctrl+C to stop.');

async function stop(): Promise<void> {
  await server.close();
  process.exit(0);
}
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
