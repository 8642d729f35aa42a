import { fileURLToPath } from 'node:url';

export const HARNESS_DIR = fileURLToPath(new URL('../.harness', import.meta.url));

/** Debian's Chromium unless CHROMIUM_PATH names another (Playwright's own, Google Chrome). */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Flags that work as root on a machine whose only network is loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
