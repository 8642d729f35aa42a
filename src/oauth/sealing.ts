import type { SessionStore } from '../shared/ports.js';
import { invalidOption } from '../shared/settings.js';
import { createSealedStore, type SealedStoreOptions, type Sealer } from './sealed-store.js';

/**
 * What the `sealing` option takes: made by `sealWith`. A coordinator without it never
 * references the sealed store, so a bundler leaves that code out of apps that do not seal.
 * @see https://www.rfc-editor.org/rfc/rfc9700#section-4.14 (refresh token protection)
 */
export interface Sealing {
  /** The sealer the refresh token is sealed with. */
  readonly sealer: Sealer;
}

/** What a coordinator does with a `Sealing`: wraps its store. Only `sealWith` makes one. */
export interface SealingPorts extends Sealing {
  wrap(store: SessionStore): SessionStore;
}

/**
 * The `sealing` option: the refresh token is stored sealed by `sealer` (in the desktop app,
 * `sealerFromBridge(window.tokenherdDesktop)`, the OS keychain through the main process; in
 * Node, a KMS or a key the store never sees). `onSealingProblem` hears when sealing is
 * unavailable or a stored token cannot be unsealed (see docs/electron.md).
 * @throws INVALID_OPTIONS when `sealer` has no `seal` and `unseal` functions
 */
export function sealWith(sealer: Sealer, options: SealedStoreOptions = {}): Sealing {
  if (typeof sealer !== 'object' || sealer === null || typeof sealer.seal !== 'function' || typeof sealer.unseal !== 'function') {
    throw invalidOption('sealWith: the sealer must be an object with seal and unseal functions');
  }
  const { onSealingProblem } = options;
  const ports: SealingPorts = { sealer, wrap: (store) => createSealedStore(store, sealer, { ...(onSealingProblem && { onSealingProblem }) }) };
  return ports;
}
