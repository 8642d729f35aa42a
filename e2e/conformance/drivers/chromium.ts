import { chromium, type Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../../support/paths.js';
import type { Engine, EngineWindow, PageFunction } from '../driver.js';
import { DEFAULT_WAIT_MS } from '../driver.js';

function chromiumWindow(page: Page): EngineWindow {
  return {
    // Arguments are plain data, which Playwright passes as they are.
    evaluate: <R, A>(fn: PageFunction<A, R>, arg?: A) => page.evaluate(fn as PageFunction<unknown, R>, arg),
    async waitFor(fn, arg, timeoutMs = DEFAULT_WAIT_MS) {
      await page.waitForFunction(fn as PageFunction<unknown, unknown>, arg, { timeout: timeoutMs });
    },
    click: (selector) => page.click(selector),
    async goto(url) {
      await page.goto(url);
    },
    async back() {
      await page.goBack({ waitUntil: 'commit' });
    },
    close: () => page.close(),
  };
}

/**
 * Debian's Chromium (or CHROMIUM_PATH) through Playwright: one browser context per partition.
 * Playwright's default --disable-back-forward-cache is lifted, as a user's Chromium has the cache.
 */
export async function chromiumEngine(): Promise<Engine> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, ignoreDefaultArgs: ['--disable-back-forward-cache'] });
  return {
    name: 'chromium',
    version: `chromium/${browser.version()}`,
    async partition() {
      const context = await browser.newContext();
      return {
        async open(url) {
          const page = await context.newPage();
          await page.goto(url);
          return chromiumWindow(page);
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}
