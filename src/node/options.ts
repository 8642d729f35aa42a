import { ErrorCode, TokenHerdError } from '../shared/errors.js';

export function invalid(message: string): TokenHerdError {
  return new TokenHerdError(ErrorCode.INVALID_OPTIONS, message);
}

/** An absolute https: URL, or http: when `allowInsecure` (a development server). The browser coordinator checks the same. */
export function checkUrl(name: string, value: unknown, allowInsecure: boolean): void {
  if (typeof value !== 'string' || !URL.canParse(value)) throw invalid(`${name} must be an absolute URL, got ${JSON.stringify(value)}`);
  const { protocol } = new URL(value);
  if (protocol === 'https:' || (protocol === 'http:' && allowInsecure)) return;
  throw invalid(`${name} must use https: (set allowInsecureRequests for an http: development server), got ${value}`);
}
