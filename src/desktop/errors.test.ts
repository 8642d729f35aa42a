import { expect, test } from '@playwright/test';
import { ErrorCode, TokenHerdError, isTokenHerdError } from '../shared/errors.js';
import { DesktopErrorCode, ipcErrorCodeOf, isDesktopErrorCode, isIpcErrorCode } from './errors.js';

test('the desktop codes and the core codes are disjoint, each code its own name', () => {
  expect(Object.keys(DesktopErrorCode).filter((code) => Object.hasOwn(ErrorCode, code))).toEqual([]);
  for (const [name, code] of Object.entries(DesktopErrorCode)) expect(code).toBe(name);
});

test('a desktop-coded TokenHerdError is recognised by value, also after structured clone', () => {
  const error = new TokenHerdError(DesktopErrorCode.NOT_ALLOWED, 'not for this origin');
  const cloned: unknown = structuredClone({ code: error.code, message: error.message });
  for (const value of [error, cloned]) {
    expect(isTokenHerdError(value, DesktopErrorCode.NOT_ALLOWED)).toBe(true);
    expect(isTokenHerdError(value, DesktopErrorCode.INTERNAL)).toBe(false);
    expect(ipcErrorCodeOf(value)).toBe('NOT_ALLOWED');
  }
  // Without a code, isTokenHerdError knows the core's codes only.
  expect(isTokenHerdError(error)).toBe(false);
  expect(isTokenHerdError(new TokenHerdError(ErrorCode.CLOSED, 'closed'))).toBe(true);
});

test('the guards: desktop codes, IPC codes (either set), nothing else', () => {
  expect([isDesktopErrorCode('BROKER_TIMEOUT'), isDesktopErrorCode('TRANSIENT'), isDesktopErrorCode('toString')]).toEqual([true, false, false]);
  expect([isIpcErrorCode('BROKER_TIMEOUT'), isIpcErrorCode('TRANSIENT'), isIpcErrorCode('UNSEAL_FAILED'), isIpcErrorCode('NOPE'), isIpcErrorCode(1)]).toEqual([true, true, true, false, false]);
  expect([ipcErrorCodeOf({ code: 'TRANSIENT' }), ipcErrorCodeOf({ code: 'NOPE' }), ipcErrorCodeOf(null), ipcErrorCodeOf('INTERNAL')]).toEqual(['TRANSIENT', undefined, undefined, undefined]);
});
