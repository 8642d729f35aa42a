/**
 * A CLI whose invocations may run in parallel and share one credentials directory:
 *
 *   npx tsx examples/node-cli/cli.ts <credentials-dir> profile
 *
 * Each invocation is a separate process; at an expiry exactly one of them refreshes
 * and the others wait for the file lock, then read its result. The directory holds
 * `config.json` (the provider) and one session file per account, mode 0600.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
// In an application: from 'tokenherd/node'.
import { createTokenCoordinator, isTokenHerdError } from '../../src/node/index.js';

interface Config {
  issuer: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  clientId: string;
}

const [directory, command] = process.argv.slice(2);
if (!directory || command !== 'profile') {
  console.error('usage: cli.ts <credentials-dir> profile');
  process.exit(2);
}
const config = JSON.parse(await readFile(join(directory, 'config.json'), 'utf8')) as Config;

const coordinator = createTokenCoordinator({
  sessionKey: 'default',
  issuer: config.issuer,
  tokenEndpoint: config.tokenEndpoint,
  client: { client_id: config.clientId },
  allowInsecureRequests: true, // the embedded provider speaks http on 127.0.0.1
  refreshLeewaySeconds: 1,
  directory,
});
try {
  const response = await coordinator.fetch(config.userinfoEndpoint);
  console.log(`${process.pid}: HTTP ${response.status} ${await response.text()} (refreshed here: ${coordinator.getState().refreshRequests})`);
  process.exitCode = response.ok ? 0 : 1;
} catch (error) {
  // SESSION_EXPIRED / NOT_SIGNED_IN: run the login command again; STORE_CORRUPT: the file was damaged by hand.
  console.error(isTokenHerdError(error) ? `${error.code}: ${error.message}` : error);
  process.exitCode = 1;
} finally {
  coordinator.close();
}
