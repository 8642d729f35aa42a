/**
 * `npm run bench:engines`: tokenherd in 8 windows of one storage partition, in
 * each of the three engines the conformance suite drives (e2e/conformance), against
 * the embedded oidc-provider (rotation + reuse detection), for several expiries.
 * Per engine: refresh requests per expiry, and "fresh everywhere", the time from the
 * expiry instant until the last window holds a token the server accepts.
 * Options: --windows N (8), --expiries N (5), --engines chromium,firefox,webkit.
 */
import { parseArgs } from 'node:util';
import { build, preview } from 'vite';
import { startOAuthServer } from '../dev/oauth-server.js';
import type { Engine, EngineName } from '../e2e/conformance/driver.js';
import { chromiumEngine } from '../e2e/conformance/drivers/chromium.js';
import { firefoxEngine } from '../e2e/conformance/drivers/firefox.js';
import { webkitEngine } from '../e2e/conformance/drivers/webkit.js';
import { HARNESS_DIR } from '../e2e/support/paths.js';
import type { DemoHandle } from '../dev/demo/demo.js';
import { median } from './results.js';

declare global {
  interface Window {
    tokenherdDemo: DemoHandle;
  }
}

const LAUNCH: Record<EngineName, () => Promise<Engine>> = { chromium: chromiumEngine, firefox: firefoxEngine, webkit: webkitEngine };
const { values } = parseArgs({ options: { windows: { type: 'string', default: '8' }, expiries: { type: 'string', default: '5' }, engines: { type: 'string', default: 'chromium,firefox,webkit' } } });
const windows = Number(values.windows);
const expiries = Number(values.expiries);

await build({ configFile: 'vite.config.ts', build: { outDir: HARNESS_DIR, emptyOutDir: true } });
const server = await preview({ configFile: 'vite.config.ts', build: { outDir: HARNESS_DIR }, preview: { port: 0 } });
const origin = new URL(server.resolvedUrls!.local[0]!).origin;
const rows: string[] = [];

for (const name of values.engines.split(',') as EngineName[]) {
  const engine = await LAUNCH[name]();
  const oauth = await startOAuthServer({ corsOrigins: [origin], redirectUris: [`${origin}/`], accessTokenTtlSeconds: 4 });
  const partition = await engine.partition();
  const query = (index: number) => new URLSearchParams({ issuer: oauth.issuer, client_id: oauth.clientId, session: 'bench', poll: '0', leeway: '0', auto: '0', control: '0', window: String(index) });
  const all = await Promise.all(Array.from({ length: windows }, (_, index) => partition.open(`${origin}/?${query(index)}`)));
  for (const win of all) await win.evaluate(() => window.tokenherdDemo.ready);
  await all[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await oauth.mintSession());
  for (const win of all) await win.waitFor(() => window.tokenherdDemo.coordinator.getState().status === 'signed-in', undefined);
  const requests: number[] = [];
  const fresh: number[] = [];
  for (let expiry = 0; expiry < expiries; expiry++) {
    const before = oauth.stats().refreshRequests;
    const at = (await all[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt))! + 1;
    const results = await Promise.all(all.map((win) => win.evaluate(async (t) => ({ ...(await window.tokenherdDemo.tokenAt(t)), doneAt: Date.now() }), at)));
    requests.push(oauth.stats().refreshRequests - before);
    const valid = await Promise.all(results.map((r) => r.ok && oauth.accessTokenValid(r.token)));
    if (valid.every(Boolean)) fresh.push(Math.max(...results.map((r) => r.doneAt)) - at);
  }
  const stats = oauth.stats();
  rows.push(
    `| ${engine.version} | ${windows} | ${requests.join(', ')} | ${fresh.length}/${expiries} | ${Math.round(median(fresh) ?? Number.NaN)} / ${Math.round(Math.max(...fresh))} | ${stats.invalidGrant} | ${stats.grantsRevoked} |`,
  );
  await partition.close();
  await engine.close();
  await oauth.close();
}
await server.close();
console.log('| engine | windows | refresh requests per expiry | expiries with a fresh token everywhere | fresh everywhere, median / max ms | invalid_grant | grants revoked |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
