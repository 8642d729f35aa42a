/**
 * The README's picture of the control room: `npx tsx dev/demo/screenshot.ts` opens three demo
 * windows with auto refresh (30 s tokens, so the countdowns read well) in headless Chromium,
 * waits for three rotations and saves the first window's control room to docs/control-room.png.
 */
import { chromium } from '@playwright/test';
import { fileURLToPath } from 'node:url';
import { build, preview } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../e2e/support/paths.js';
import { startOAuthServer } from '../oauth-server.js';
import type { DemoHandle } from './demo.js';

declare global {
  interface Window {
    tokenherdDemo: DemoHandle;
  }
}

const outDir = fileURLToPath(new URL('../../bench/out/screenshot', import.meta.url));
const target = fileURLToPath(new URL('../../docs/control-room.png', import.meta.url));
await build({ configFile: 'vite.config.ts', build: { outDir, emptyOutDir: true }, logLevel: 'warn' });
const server = await preview({ configFile: 'vite.config.ts', build: { outDir }, preview: { port: 0 } });
const origin = new URL(server.resolvedUrls!.local[0]!).origin;
const oauth = await startOAuthServer({ corsOrigins: [origin], redirectUris: [`${origin}/`], accessTokenTtlSeconds: 8 });
const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
try {
  const context = await browser.newContext({ viewport: { width: 760, height: 900 } });
  const pages = [];
  for (const id of ['a', 'b', 'c']) {
    const page = await context.newPage();
    await page.goto(`${origin}/?${new URLSearchParams({ issuer: oauth.issuer, client_id: oauth.clientId, session: 'screenshot', poll: '0', leeway: '1', window: id })}`);
    await page.evaluate(() => window.tokenherdDemo.ready);
    pages.push(page);
  }
  const [first] = pages;
  await first!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await oauth.mintSession());
  await first!.waitForFunction(() => window.tokenherdDemo.coordinator.getState().generation >= 4, undefined, { timeout: 60_000 });
  await first!.waitForFunction(() => document.querySelectorAll('#control-timeline g').length >= 3);
  await first!.locator('header').evaluate((header) => header.scrollIntoView());
  await first!.screenshot({ path: target, fullPage: false });
  console.log(`saved ${target}`);
} finally {
  await browser.close();
  await oauth.close();
  await server.close();
}
