import { validateRequest, type IpcChannel, type IpcRequest, type IpcResponse, type IpcResult } from '../desktop/ipc-contract.js';
import { DesktopErrorCode, ipcErrorCodeOf, type IpcErrorCode } from '../desktop/errors.js';
import type { IpcEventLike } from './trust.js';

/** The part of Electron's `ipcMain` the wrapper uses. */
export interface IpcMainLike<E> {
  handle(channel: string, listener: (event: E, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** What one channel's listener runs: the sender check, the handler, and where problems are reported. */
export interface IpcHandler<C extends IpcChannel, E extends IpcEventLike> {
  /** Decides from the event alone (registration, frame, origin) whether this sender may use the channel. */
  readonly trust: (event: E) => boolean;
  /** Runs only for a trusted sender and a payload the contract's validator accepted. Throw a TokenHerdError to answer its code. */
  readonly handle: (request: IpcRequest<C>, event: E) => Promise<IpcResponse<C>> | IpcResponse<C>;
  /** Unexpected errors (answered as INTERNAL, without detail) and refusals, for the log. */
  readonly onProblem?: (channel: C, problem: string) => void;
}

const refuse = (code: IpcErrorCode, message: string): IpcResult<never> => ({ ok: false, code, message });

/**
 * The listener `ipcMain.handle(channel, ...)` gets: checks the sender, then the
 * payload (exactly one argument, of the contract's shape), then runs the
 * handler; always answers an IpcResult, never throws across IPC.
 */
export function createIpcListener<C extends IpcChannel, E extends IpcEventLike>(
  channel: C,
  handler: IpcHandler<C, E>,
): (event: E, ...args: unknown[]) => Promise<IpcResult<IpcResponse<C>>> {
  const validate = validateRequest[channel] as (payload: unknown) => payload is IpcRequest<C>;
  return async (event, ...args) => {
    let trusted: boolean;
    try {
      trusted = handler.trust(event);
    } catch {
      trusted = false;
    }
    if (!trusted) {
      handler.onProblem?.(channel, `refused an untrusted sender (WebContents ${event.sender.id}, ${event.senderFrame?.url ?? 'no frame'})`);
      return refuse(DesktopErrorCode.UNTRUSTED_SENDER, `${channel} is not available to this sender`);
    }
    const [payload] = args;
    if (args.length !== 1 || !validate(payload)) {
      handler.onProblem?.(channel, 'refused a malformed payload');
      return refuse(DesktopErrorCode.INVALID_PAYLOAD, `${channel}: malformed request`);
    }
    try {
      return { ok: true, value: await handler.handle(payload, event) };
    } catch (error) {
      const code = ipcErrorCodeOf(error);
      if (code !== undefined) return { ok: false, code, message: error instanceof Error ? error.message : String(error) };
      handler.onProblem?.(channel, `handler failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      return refuse(DesktopErrorCode.INTERNAL, `${channel} failed`);
    }
  };
}

/** `ipcMain.handle` for one contract channel; returns the function that removes the handler. */
export function handleIpc<C extends IpcChannel, E extends IpcEventLike>(ipc: IpcMainLike<E>, channel: C, handler: IpcHandler<C, E>): () => void {
  ipc.handle(channel, createIpcListener(channel, handler));
  return () => ipc.removeHandler(channel);
}

