import { ErrorCode } from '../shared/errors.js';
import { DesktopErrorCode } from '../desktop/errors.js';
import { isIpcResult, type IpcChannel, type IpcRequest, type IpcResponse, type IpcResult } from '../desktop/ipc-contract.js';

/** The part of Electron's `ipcRenderer` the preloads use. It stays inside the preload: pages never get it. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/**
 * `ipcRenderer.invoke` for one contract channel. Never rejects: a failed
 * transport (the main process gone) is TRANSIENT, an answer that is not an
 * IpcResult is INVALID_RESPONSE.
 */
export async function invokeIpc<C extends IpcChannel>(ipc: IpcRendererLike, channel: C, request: IpcRequest<C>): Promise<IpcResult<IpcResponse<C>>> {
  let result: unknown;
  try {
    result = await ipc.invoke(channel, request);
  } catch (error) {
    return { ok: false, code: ErrorCode.TRANSIENT, message: `${channel}: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!isIpcResult(result)) return { ok: false, code: DesktopErrorCode.INVALID_RESPONSE, message: `${channel}: the main process answered something unexpected` };
  return result as IpcResult<IpcResponse<C>>;
}

/** The value of `--name=value` among the arguments the main process passed (`webPreferences.additionalArguments`). */
export function readArgument(argv: readonly string[], prefix: string): string | undefined {
  const found = argv.find((arg) => arg.startsWith(prefix));
  return found === undefined ? undefined : found.slice(prefix.length);
}
