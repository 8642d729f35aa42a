import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

export type ElectronBinary = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Where the Electron binary is, if it is installed. The `electron` package's
 * main export is the binary's path; it throws when the binary was never
 * downloaded (`ELECTRON_SKIP_BINARY_DOWNLOAD=1`, or no access to its downloads).
 */
export function findElectronBinary(): ElectronBinary {
  let path: unknown;
  try {
    path = createRequire(import.meta.url)('electron');
  } catch {
    return {
      ok: false,
      reason: 'the Electron binary is not installed here (the electron package was installed without it: ELECTRON_SKIP_BINARY_DOWNLOAD=1, or no access to its downloads)',
    };
  }
  if (typeof path !== 'string' || !existsSync(path)) return { ok: false, reason: `the Electron binary is not installed here (${String(path)} does not exist)` };
  return { ok: true, path };
}
