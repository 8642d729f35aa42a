import { Buffer } from 'node:buffer';
import { TokenHerdError, ErrorCode } from '../shared/errors.js';

/** The part of Electron's `safeStorage` sealing uses. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  /** Linux only (Electron documents it as such); which secret store the key lives in. */
  getSelectedStorageBackend(): string;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

/** Whether sealing protects refresh tokens here, with the backend that holds the key; or why not. */
export type SealingStatus =
  | { readonly available: true; readonly backend: string }
  | { readonly available: false; readonly reason: string };

/**
 * Whether sealing protects anything here. On Linux, `safeStorage` falls back to
 * `basic_text` when no secret service (libsecret, KWallet) is found: it then
 * "encrypts" with a key compiled into Chromium, which protects nothing, so that
 * backend counts as unavailable. `unknown` means the app is not ready yet.
 */
export function sealingStatus(safeStorage: SafeStorageLike, platform: string): SealingStatus {
  let available: boolean;
  try {
    available = safeStorage.isEncryptionAvailable();
  } catch (error) {
    return { available: false, reason: `safeStorage failed: ${String(error)}` };
  }
  if (!available) return { available: false, reason: 'the OS keychain is not available' };
  if (platform !== 'linux') return { available: true, backend: platform === 'darwin' ? 'keychain' : platform === 'win32' ? 'dpapi' : platform };
  const backend = safeStorage.getSelectedStorageBackend();
  if (backend === 'basic_text') return { available: false, reason: 'no secret service: Linux safeStorage would use its plaintext basic_text backend' };
  if (backend === 'unknown') return { available: false, reason: 'safeStorage is not ready (before app ready)' };
  return { available: true, backend };
}

/**
 * Seals and unseals with the OS keychain, refusing (never falling back to a weaker
 * key) when {@link sealingStatus} says it is unavailable.
 */
export interface MainSealer {
  status(): SealingStatus;
  /** The text encrypted by the OS keychain, base64. Not deterministic. Throws SEALING_UNAVAILABLE. */
  seal(text: string): string;
  /** Throws SEALING_UNAVAILABLE, or UNSEAL_FAILED when the keychain's key does not open it. */
  unseal(sealed: string): string;
}

/**
 * The main process's half of sealing: what the `tokenherd:seal` and `tokenherd:unseal` handlers call.
 * @see RFC 6749 §10.4 (refresh tokens must be kept confidential in storage)
 */
export function createMainSealer(safeStorage: SafeStorageLike, platform: string): MainSealer {
  const ensure = (): void => {
    const status = sealingStatus(safeStorage, platform);
    if (!status.available) throw new TokenHerdError(ErrorCode.SEALING_UNAVAILABLE, status.reason);
  };
  return {
    status: () => sealingStatus(safeStorage, platform),
    seal(text) {
      ensure();
      return safeStorage.encryptString(text).toString('base64');
    },
    unseal(sealed) {
      ensure();
      try {
        return safeStorage.decryptString(Buffer.from(sealed, 'base64'));
      } catch (error) {
        throw new TokenHerdError(ErrorCode.UNSEAL_FAILED, 'the OS keychain could not decrypt the sealed refresh token (sealed under another key?)', {
          cause: error,
        });
      }
    },
  };
}
