import { expect, test } from '@playwright/test';
import { MAX_EXPIRES_IN_SECONDS, isLater, isStoredSession, isVersion, parseTokenResponse, versionOf, type StoredSession } from './session.js';

const NOW = 1_000_000;
const valid = { access_token: 'at', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt', scope: 'repo' };

test('a token response becomes a token set whose expiry counts from receipt', () => {
  expect(parseTokenResponse(valid, NOW)).toEqual({ accessToken: 'at', refreshToken: 'rt', expiresAt: NOW + 3_600_000, scope: 'repo' });
  expect(parseTokenResponse({ access_token: 'at', token_type: 'bearer' }, NOW)).toEqual({ accessToken: 'at' });
  // A DPoP-bound token (RFC 9449 section 5) is stored the same way; the DPoP fetch adds the proofs.
  expect(parseTokenResponse({ ...valid, token_type: 'DPoP' }, NOW)).toEqual(parseTokenResponse(valid, NOW));
});

test('malformed token responses are refused with INVALID_TOKEN_RESPONSE', () => {
  const bad: unknown[] = [
    undefined,
    'access_token=at',
    [],
    { ...valid, access_token: undefined },
    { ...valid, access_token: '' },
    { ...valid, access_token: 'x'.repeat(20_000) },
    { ...valid, token_type: undefined },
    { ...valid, token_type: 'DPoP2' },
    { ...valid, token_type: 'mac' },
    { ...valid, expires_in: -1 },
    { ...valid, expires_in: 0 },
    { ...valid, expires_in: 1.5 },
    { ...valid, expires_in: '3600' },
    { ...valid, expires_in: MAX_EXPIRES_IN_SECONDS + 1 },
    { ...valid, expires_in: Number.POSITIVE_INFINITY },
    { ...valid, refresh_token: 42 },
    { ...valid, scope: ['repo'] },
  ];
  for (const response of bad) {
    expect(() => parseTokenResponse(response, NOW), JSON.stringify(response)).toThrow(expect.objectContaining({ code: 'INVALID_TOKEN_RESPONSE' }));
  }
});

test('stored records are shape-checked', () => {
  const active = { sessionKey: 'k', generation: 3, state: 'active', cause: 'rotated', tokens: { accessToken: 'at', refreshToken: 'rt', expiresAt: 5 }, updatedAt: 1 };
  const tombstone = { sessionKey: 'k', generation: 4, state: 'signed-out', cause: 'expired', updatedAt: 1 };
  expect(isStoredSession(active)).toBe(true);
  expect(isStoredSession(tombstone)).toBe(true);
  for (const broken of [null, { ...active, generation: 0 }, { ...active, generation: '3' }, { ...active, tokens: {} }, { ...active, cause: 'expired' }, { ...tombstone, cause: 'rotated' }]) {
    expect(isStoredSession(broken)).toBe(false);
  }
});

test('a version is a generation of one session: a compare-and-set names both, and another session is always later (I10)', () => {
  const record: StoredSession = { sessionKey: 'k', sessionId: 's-1', generation: 2, state: 'signed-out', cause: 'signed-out', updatedAt: 0 };
  expect(versionOf(record)).toEqual({ generation: 2, sessionId: 's-1' });
  expect(versionOf(undefined)).toEqual({ generation: 0 });
  expect(isVersion(record, { generation: 2, sessionId: 's-1' })).toBe(true);
  expect(isVersion(record, { generation: 2, sessionId: 's-2' })).toBe(false);
  expect(isVersion(record, { generation: 2 })).toBe(false);
  expect(isVersion(undefined, { generation: 0, sessionId: 's-1' })).toBe(true);
  expect(isLater({ generation: 1, sessionId: 's-2' }, { generation: 5, sessionId: 's-1' })).toBe(true);
  expect(isLater({ generation: 5, sessionId: 's-1' }, { generation: 5, sessionId: 's-1' })).toBe(false);
  expect(isLater({ generation: 6, sessionId: 's-1' }, { generation: 5, sessionId: 's-1' })).toBe(true);
  expect(isStoredSession(record)).toBe(true);
  for (const sessionId of ['', 7, 's'.repeat(257)]) expect(isStoredSession({ ...record, sessionId })).toBe(false);
});
