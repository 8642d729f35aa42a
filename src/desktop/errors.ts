/**
 * The error codes of the desktop shell's process boundary (src/main,
 * src/preload, the bridge in this folder; see docs/electron.md). The core never
 * throws them, so they live here, not in src/shared/errors.ts; a
 * `TokenHerdError` carries them as it carries the core's codes. The two codes
 * the sealed store itself reads (`SEALING_UNAVAILABLE`, `UNSEAL_FAILED`) stay
 * in the core's `ErrorCode`: any `Sealer`, on any runtime, reports with them.
 */
import { isErrorCode, type ErrorCode } from '../shared/errors.js';

/** Stable codes of the desktop shell. As with `ErrorCode`, callers branch on `code`: these errors cross IPC without their class. */
export const DesktopErrorCode = {
  /** The sender is not a WebContents (or frame) that the main process trusts for this channel. */
  UNTRUSTED_SENDER: 'UNTRUSTED_SENDER',
  /** An IPC request does not have the channel's exact shape. */
  INVALID_PAYLOAD: 'INVALID_PAYLOAD',
  /** The other side of IPC, or the relayed token endpoint, answered something malformed. */
  INVALID_RESPONSE: 'INVALID_RESPONSE',
  /** The sender's origin is not on the provider's allowlist, or the request is outside what the channel allows. */
  NOT_ALLOWED: 'NOT_ALLOWED',
  /** No provider of that id is configured. */
  UNKNOWN_PROVIDER: 'UNKNOWN_PROVIDER',
  /** No app window answered the main process's token request in time (transient). */
  BROKER_TIMEOUT: 'BROKER_TIMEOUT',
  /** A main-process handler failed unexpectedly; the detail stays in the main process's log. */
  INTERNAL: 'INTERNAL',
} as const;

/** One of the desktop shell's codes. */
export type DesktopErrorCode = (typeof DesktopErrorCode)[keyof typeof DesktopErrorCode];

/** Any code an error crossing the desktop shell's IPC may carry: the core's or the shell's (no code is in both). */
export type IpcErrorCode = ErrorCode | DesktopErrorCode;

/** True for one of the desktop shell's codes. */
export function isDesktopErrorCode(value: unknown): value is DesktopErrorCode {
  return typeof value === 'string' && Object.hasOwn(DesktopErrorCode, value);
}

/** True for a code IPC carries; the validators of the IPC contract accept no other. */
export function isIpcErrorCode(value: unknown): value is IpcErrorCode {
  return isErrorCode(value) || isDesktopErrorCode(value);
}

/** The core or desktop `code` of an error, by value, so it also holds for errors that crossed IPC or structured clone. */
export function ipcErrorCodeOf(value: unknown): IpcErrorCode | undefined {
  const code = typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined;
  return isIpcErrorCode(code) ? code : undefined;
}

