import puppeteer, { type Page } from 'puppeteer-core';
import type { Engine, EngineWindow, PageFunction } from '../driver.js';
import { DEFAULT_WAIT_MS } from '../driver.js';

/** Debian's Firefox ESR unless FIREFOX_PATH names another Firefox. */
export const FIREFOX_PATH = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

function firefoxWindow(page: Page): EngineWindow {
  return {
    // Arguments and results are plain data, which WebDriver BiDi passes as they are.
    evaluate: async <R, A>(fn: PageFunction<A, R>, arg?: A) => (await page.evaluate(fn as PageFunction<unknown, R>, arg)) as R,
    async waitFor(fn, arg, timeoutMs = DEFAULT_WAIT_MS) {
      await page.waitForFunction(fn as PageFunction<unknown, unknown>, { timeout: timeoutMs, polling: 50 }, arg);
    },
    click: (selector) => page.click(selector),
    async goto(url) {
      await page.goto(url);
    },
    async back() {
      // Not page.goBack(): it waits for a load event, which a restore from the back/forward cache never fires.
      await page.evaluate(() => {
        setTimeout(() => history.back());
      });
    },
    close: () => page.close(),
  };
}

/** Firefox over WebDriver BiDi, headless: one user context (its own storage) per partition, each window a top-level window. */
export async function firefoxEngine(): Promise<Engine> {
  const browser = await puppeteer.launch({ browser: 'firefox', executablePath: FIREFOX_PATH, protocol: 'webDriverBiDi', headless: true });
  return {
    name: 'firefox',
    version: await browser.version(),
    async partition() {
      const context = await browser.createBrowserContext();
      return {
        async open(url) {
          const page = await context.newPage({ type: 'window' });
          await page.goto(url);
          return firefoxWindow(page);
        },
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}
