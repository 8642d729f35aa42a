/**
 * Plain-object stand-ins for the Electron objects the main-process modules take
 * (for Node tests; nothing here runs in the app).
 */
import { Buffer } from 'node:buffer';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { IpcRendererLike } from '../../src/preload/ipc.js';
import type { IpcMainLike } from '../../src/main/ipc.js';
import type { SafeStorageLike } from '../../src/main/sealing.js';
import type { IpcEventLike } from '../../src/main/trust.js';

/** An IpcMainInvokeEvent from `url`'s main frame (or a subframe) of WebContents `id`. */
export function fakeEvent(id: number, url: string | null, options: { subframe?: boolean } = {}): IpcEventLike {
  return { sender: { id }, senderFrame: url === null ? null : { url, parent: options.subframe ? {} : null } };
}

/** ipcMain with `invoke` standing in for a renderer's `ipcRenderer.invoke`, from a given event. */
export function createFakeIpcMain(): IpcMainLike<IpcEventLike> & {
  invoke(event: IpcEventLike, channel: string, ...args: unknown[]): Promise<unknown>;
  channels(): string[];
} {
  const handlers = new Map<string, (event: IpcEventLike, ...args: unknown[]) => unknown>();
  return {
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
    async invoke(event, channel, ...args) {
      const handler = handlers.get(channel);
      if (!handler) throw new Error(`No handler registered for '${channel}'`);
      // What Electron does to arguments and results: a structured clone.
      return structuredClone(await handler(event, ...structuredClone(args)));
    },
    channels: () => [...handlers.keys()],
  };
}

/**
 * safeStorage with a real cipher (AES-256-GCM, random IV: not deterministic) and
 * a key per instance, like an OS keychain per user and machine.
 */
export function createFakeSafeStorage(options: { available?: boolean; backend?: string } = {}): SafeStorageLike & { encryptions: number } {
  const key = randomBytes(32);
  const state = { encryptions: 0 };
  return {
    get encryptions() {
      return state.encryptions;
    },
    isEncryptionAvailable: () => options.available ?? true,
    getSelectedStorageBackend: () => options.backend ?? 'gnome_libsecret',
    encryptString(plainText) {
      state.encryptions++;
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plainText, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.from('v11'), iv, cipher.getAuthTag(), body]);
    },
    decryptString(encrypted) {
      if (encrypted.subarray(0, 3).toString() !== 'v11') throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      const iv = encrypted.subarray(3, 15);
      const tag = encrypted.subarray(15, 31);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(encrypted.subarray(31)), decipher.final()]).toString('utf8');
      } catch {
        throw new Error('Error while decrypting the ciphertext provided to safeStorage.decryptString.');
      }
    },
  };
}

/** A renderer's `ipcRenderer`, wired to `ipcMain` with a fixed sender event, and `emit` for main -> renderer sends. */
export function connectRenderer(
  ipcMain: ReturnType<typeof createFakeIpcMain>,
  event: IpcEventLike,
): IpcRendererLike & { emit(channel: string, payload: unknown): void; listenerCount(channel: string): number } {
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  return {
    invoke: (channel, ...args) => ipcMain.invoke(event, channel, ...args),
    on(channel, listener) {
      const set = listeners.get(channel) ?? new Set();
      set.add(listener);
      listeners.set(channel, set);
    },
    removeListener(channel, listener) {
      listeners.get(channel)?.delete(listener);
    },
    emit(channel, payload) {
      for (const listener of [...(listeners.get(channel) ?? [])]) listener({}, structuredClone(payload));
    },
    listenerCount: (channel) => listeners.get(channel)?.size ?? 0,
  };
}
