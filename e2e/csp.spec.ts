/**
 * The desktop app's Content Security Policy (src/main/csp.ts) on the demo
 * pages in Chromium: the app still signs in, refreshes and calls the provider
 * API under it, and nothing is blocked. A control run without the issuer in
 * connect-src shows the policy is really enforced.
 *
 * The pages come from a real loopback server that sends the CSP header, as the
 * app scheme does. (Fulfilling them through page routing would make Chromium
 * treat them as public pages, whose requests to the loopback OAuth server its
 * Local Network Access checks refuse.)
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { BrowserContext, Page } from '@playwright/test';
import { closeServer, listenOnLoopback } from '../dev/loopback.js';
import { startOAuthServer, type OAuthServer } from '../dev/oauth-server.js';
import { resolveAppFile } from '../src/main/app-protocol.js';
import { appContentSecurityPolicy } from '../src/main/csp.js';
import { expect, test } from './support/fixtures.js';
import { HARNESS_DIR } from './support/paths.js';

declare global {
  interface Window {
    violations: string[];
  }
}

/** The built demo with `Content-Security-Policy: csp()` on every response; files resolved as the app scheme resolves them. */
async function serveWithCsp(csp: () => string): Promise<{ origin: string; server: Server }> {
  const server = createServer((req, res) => {
    const file = resolveAppFile(`tokenherd://app${new URL(req.url ?? '/', 'http://x').pathname}`, req.method ?? 'GET', HARNESS_DIR);
    if ('status' in file) return void res.writeHead(file.status).end();
    readFile(file.path).then(
      (body) => res.writeHead(200, { 'Content-Type': file.contentType, 'Content-Security-Policy': csp() }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return { origin: await listenOnLoopback(server), server };
}

async function openUnderCsp(
  context: BrowserContext,
  connectOrigins: (issuer: string) => string[],
  count: number,
): Promise<{ pages: Page[]; oauth: OAuthServer; close: () => Promise<void> }> {
  let issuer = '';
  const site = await serveWithCsp(() => appContentSecurityPolicy({ connectOrigins: connectOrigins(issuer) }));
  const oauth = await startOAuthServer({ accessTokenTtlSeconds: 5, corsOrigins: [site.origin], redirectUris: [`${site.origin}/`] });
  issuer = oauth.issuer;
  await context.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
  });
  const query = new URLSearchParams({ issuer, client_id: oauth.clientId, session: 'e2e', poll: '0', leeway: '0', auto: '0' });
  const pages = await Promise.all(
    Array.from({ length: count }, async () => {
      const page = await context.newPage();
      await page.goto(`${site.origin}/?${query}`);
      await page.evaluate(() => window.tokenherdDemo.ready);
      return page;
    }),
  );
  await pages[0]!.evaluate((r) => window.tokenherdDemo.coordinator.setSession(r), await oauth.mintSession());
  for (const page of pages) await page.waitForFunction(() => window.tokenherdDemo.coordinator.getState().status === 'signed-in');
  return {
    pages,
    oauth,
    close: async () => {
      await oauth.close();
      await closeServer(site.server);
    },
  };
}

async function tokensAtExpiry(pages: Page[]) {
  const expiresAt = (await pages[0]!.evaluate(() => window.tokenherdDemo.coordinator.getState().expiresAt))!;
  return Promise.all(pages.map((page) => page.evaluate((at) => window.tokenherdDemo.tokenAt(at), expiresAt + 1)));
}

const violations = (page: Page) => page.evaluate(() => window.violations);

test('under the app CSP the demo refreshes once per expiry and calls the provider API, with no violation', async ({ context }) => {
  const { pages, oauth, close } = await openUnderCsp(context, (issuer) => [issuer], 3);
  try {
    const results = await tokensAtExpiry(pages);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(oauth.stats().refreshRequests).toBe(1);
    await pages[1]!.click('#call');
    await expect(pages[1]!.locator('#last-call')).toHaveText('userinfo: HTTP 200');
    for (const page of pages) expect(await violations(page)).toEqual([]);
  } finally {
    await close();
  }
});

test('control: without the issuer in connect-src the refresh is blocked (so the policy above is really in force)', async ({ context }) => {
  const { pages, oauth, close } = await openUnderCsp(context, () => [], 1);
  try {
    const [result] = await tokensAtExpiry(pages);
    // Blocked on every attempt, as a refused connection is: a configuration to fix, not a blip.
    expect(result).toMatchObject({ ok: false, code: 'MISCONFIGURED', message: expect.stringContaining('(refused, an unknown host, or blocked)') });
    expect(oauth.stats().refreshRequests).toBe(0);
    expect((await violations(pages[0]!)).some((v) => v.startsWith('connect-src') && v.includes(new URL(oauth.issuer).host))).toBe(true);
  } finally {
    await close();
  }
});
