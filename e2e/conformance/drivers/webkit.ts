import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Builder, type WebDriver } from 'selenium-webdriver';
import type { Engine, EngineWindow, Partition } from '../driver.js';
import { DEFAULT_WAIT_MS, createQueue } from '../driver.js';

// selenium-webdriver's own helpers, which its type package leaves out.
const require = createRequire(import.meta.url);
const { findFreePort } = require('selenium-webdriver/net/portprober') as { findFreePort(host?: string): Promise<number> };
const { waitForServer } = require('selenium-webdriver/http/util') as { waitForServer(url: string, timeoutMs: number): Promise<void> };

/** WebKitGTK's MiniBrowser from Debian's webkit2gtk-driver, unless WEBKIT_MINIBROWSER_PATH names another. */
export function miniBrowserPath(): string | undefined {
  const configured = process.env['WEBKIT_MINIBROWSER_PATH'];
  if (configured !== undefined) return configured;
  const libs = readdirSync('/usr/lib').filter((name) => name.endsWith('-linux-gnu'));
  const candidates = libs.flatMap((lib) => ['webkit2gtk-4.1', 'webkitgtk-6.0', 'webkit2gtk-4.0'].map((dir) => `/usr/lib/${lib}/${dir}/MiniBrowser`));
  return candidates.find((path) => existsSync(path));
}

const POLL_MS = 50;

/**
 * A WebDriver session has one current window and runs one command at a time, and an
 * asynchronous script would hold the session until it ends. So a call starts the
 * function in its window and returns at once; the result is then collected by polling,
 * and windows really run their functions concurrently.
 */
function webkitWindow(driver: WebDriver, handle: string, inWindow: <T>(handle: string, task: () => Promise<T>) => Promise<T>): EngineWindow {
  let calls = 0;
  const run = async <R>(source: string, arg: unknown): Promise<R> => {
    const id = `c${++calls}`;
    await inWindow(handle, () =>
      driver.executeScript(
        `const [id, json] = arguments;
         const results = (window.__conformance ??= {});
         results[id] = null;
         Promise.resolve().then(() => (${source})(JSON.parse(json).arg)).then(
           (value) => { results[id] = JSON.stringify({ value }); },
           (error) => { results[id] = JSON.stringify({ error: String(error && error.stack ? error + '\\n' + error.stack : error) }); });`,
        id,
        JSON.stringify({ arg }),
      ),
    );
    for (;;) {
      const answer = await inWindow(handle, () =>
        driver.executeScript<string | null | undefined>('const r = window.__conformance; return r ? r[arguments[0]] : undefined;', id),
      );
      if (answer === undefined) throw new Error('the window navigated away before the function returned');
      if (answer !== null) {
        const { value, error } = JSON.parse(answer) as { value?: R; error?: string };
        if (error !== undefined) throw new Error(error);
        return value as R;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  };
  return {
    evaluate: (fn, arg) => run(String(fn), arg),
    // Polled in the page; a navigation meanwhile (a sign-in's redirects) starts the poll again in the new document.
    async waitFor(fn, arg, timeoutMs = DEFAULT_WAIT_MS) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const left = until - Date.now();
        const poll = `async (arg) => {
          const until = Date.now() + ${left};
          while (!(await (${String(fn)})(arg))) {
            if (Date.now() > until) return false;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return true;
        }`;
        const met = await run<boolean>(poll, arg).catch((error: unknown) => (Date.now() < until ? undefined : Promise.reject(error)));
        if (met === true) return;
        if (met === false) throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(fn)}`);
      }
    },
    // WebKitWebDriver (WebKitGTK 2.50) hangs or ends the session on an element click that navigates to another
    // origin, or on a script run while such a navigation is under way. So the click is started by a script, the
    // navigation watched through the browser's URL (no script), and the new document awaited once the URL changed.
    async click(selector) {
      const from = await inWindow(handle, async () => {
        const url = await driver.getCurrentUrl();
        await driver.executeScript('const element = document.querySelector(arguments[0]); setTimeout(() => element.click());', selector);
        return url;
      });
      const until = Date.now() + DEFAULT_WAIT_MS;
      while ((await inWindow(handle, () => driver.getCurrentUrl())) === from && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      await inWindow(handle, () => driver.wait(async () => (await driver.executeScript('return document.readyState')) === 'complete', DEFAULT_WAIT_MS));
    },
    goto: (url) => inWindow(handle, () => driver.get(url)),
    back: () => inWindow(handle, () => driver.navigate().back()),
    // The page is unloaded first (its locks released, its requests aborted): WebKitWebDriver 2.50 exited in about
    // half the runs that closed a window with a token request in flight.
    close: () =>
      inWindow(handle, async () => {
        await driver.get('about:blank');
        await driver.close();
      }),
  };
}

async function session(address: string, binary: string): Promise<WebDriver> {
  const capabilities = { browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary, args: ['--automation'] } };
  return new Builder().usingServer(address).withCapabilities(capabilities).build();
}

/** One automation session: a MiniBrowser of its own, with ephemeral storage. Its first window is the first one opened. */
function webkitPartition(driver: WebDriver, firstWindow: string): Partition {
  const queue = createQueue();
  let current: string | undefined;
  let unused: string | undefined = firstWindow;
  const inWindow = <T>(handle: string, task: () => Promise<T>) =>
    queue(async () => {
      if (current !== handle) await driver.switchTo().window(handle);
      current = handle;
      return task();
    });
  return {
    async open(url) {
      const handle = await queue(async () => {
        if (unused === undefined) await driver.switchTo().newWindow('window');
        current = unused ?? (await driver.getWindowHandle());
        unused = undefined;
        return current;
      });
      await inWindow(handle, () => driver.get(url));
      return webkitWindow(driver, handle, inWindow);
    },
    close: () => driver.quit(),
  };
}

/** WebKitGTK's MiniBrowser driven by WebKitWebDriver, both under their own virtual X display (`xvfb-run -a`): one session per partition. */
export async function webkitEngine(): Promise<Engine> {
  const binary = miniBrowserPath();
  if (binary === undefined) throw new Error('MiniBrowser not found: install webkit2gtk-driver (scripts/install-browser.sh) or set WEBKIT_MINIBROWSER_PATH');
  const port = await findFreePort('127.0.0.1');
  // `-a` takes the first free display from `-n` on; starting from a number of this process's own keeps two
  // test workers that start at the same instant from picking the same one.
  const display = String(100 + (process.pid % 800));
  const server = spawn('xvfb-run', ['-a', '-n', display, 'WebKitWebDriver', `--port=${port}`], { detached: true, stdio: 'ignore' });
  // The whole process group: xvfb-run, Xvfb, the driver and every MiniBrowser it started.
  const stop = () => {
    if (server.exitCode === null && server.pid !== undefined) process.kill(-server.pid, 'SIGTERM');
  };
  process.once('exit', stop);
  const address = `http://127.0.0.1:${port}`;
  await waitForServer(address, 30_000);
  let spare: WebDriver | undefined = await session(address, binary);
  const capabilities = await spare.getCapabilities();
  return {
    name: 'webkit',
    version: `webkitgtk/${String(capabilities.get('browserVersion'))}`,
    async partition() {
      const driver = spare ?? (await session(address, binary));
      spare = undefined;
      return webkitPartition(driver, await driver.getWindowHandle());
    },
    async close() {
      await spare?.quit();
      stop();
      process.off('exit', stop);
    },
  };
}
