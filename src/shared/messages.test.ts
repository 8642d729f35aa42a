import { expect, test } from '@playwright/test';
import { MESSAGE_VERSION, announcementOf, hintOf, parseHint, parseMessage } from './messages.js';
import { MAX_EXPIRES_IN_SECONDS, type StoredSession } from './session.js';

const NOW = 1_700_000_000_000;
const active: StoredSession = {
  sessionKey: 'k',
  generation: 7,
  state: 'active',
  cause: 'rotated',
  tokens: { accessToken: 'at', refreshToken: 'rt', expiresAt: NOW + 60_000, scope: 'repo' },
  updatedAt: NOW,
  refreshInFlight: { since: NOW, unknownSends: 1 },
};

test('an active session is announced with its access token and expiry only; a tombstone as a hint', () => {
  const message = announcementOf(active);
  expect(message).toEqual({ v: MESSAGE_VERSION, type: 'session-changed', sessionKey: 'k', generation: 7, cause: 'rotated', accessToken: 'at', expiresAt: NOW + 60_000 });
  expect(JSON.stringify(message)).not.toContain('rt');
  expect(parseMessage(message, NOW)).toEqual(message);
  const tombstone: StoredSession = { sessionKey: 'k', generation: 8, state: 'signed-out', cause: 'signed-out', updatedAt: NOW };
  expect(announcementOf(tombstone)).toEqual({ v: MESSAGE_VERSION, type: 'session-changed', sessionKey: 'k', generation: 8 });
  expect(hintOf(message)).toEqual({ v: MESSAGE_VERSION, type: 'session-changed', sessionKey: 'k', generation: 7 });
  expect(hintOf(active)).toEqual(hintOf(message));
  expect(parseMessage(hintOf(message), NOW)).toEqual(hintOf(message));
  const identified = announcementOf({ ...active, sessionId: 's-1' });
  expect(identified).toEqual({ ...message, sessionId: 's-1' }); // the session id goes with the token, so a receiver's view keeps it
  expect(parseMessage(identified, NOW)).toEqual(identified);
  expect(hintOf(identified)).toEqual(hintOf(message));
});

test('only the exact current message shape is accepted', () => {
  const message = announcementOf(active);
  const hint = hintOf(message);
  for (const bad of [
    null,
    'k',
    [],
    { v: MESSAGE_VERSION, type: 'session-changed', sessionKey: 'k' },
    { ...hint, refreshToken: 'rt' },
    { ...message, refreshToken: 'rt' },
    { ...hint, v: 1 },
    { ...hint, type: 'signed-out' },
    { ...hint, generation: 1.5 },
    { ...hint, generation: -1 },
    { ...hint, sessionKey: '' },
    { ...hint, sessionKey: 'k'.repeat(257) },
    { ...hint, accessToken: 'at' },
    { ...hint, cause: 'rotated' },
    { ...message, cause: 'expired' },
    { ...message, accessToken: '' },
    { ...message, accessToken: 'a'.repeat(16_385) },
    { ...message, accessToken: 42 },
    { ...message, sessionId: '' },
    { ...message, sessionId: 7 },
    { ...message, sessionId: 's'.repeat(257) },
    { ...hint, sessionId: 's-1' },
    { ...message, generation: 0 },
    { ...message, expiresAt: '1' },
    { ...message, expiresAt: Number.POSITIVE_INFINITY },
    { ...message, expiresAt: NOW + MAX_EXPIRES_IN_SECONDS * 1000 + 1 },
  ]) {
    expect(parseMessage(bad, NOW), JSON.stringify(bad)?.slice(0, 80)).toBeUndefined();
    expect(parseHint(bad, NOW), JSON.stringify(bad)?.slice(0, 80)).toBeUndefined();
  }
});

test('parseHint takes the session key and generation of a valid hint or announcement, never its token', () => {
  const message = announcementOf(active);
  expect(parseHint(message, NOW)).toStrictEqual({ sessionKey: 'k', generation: 7 });
  expect(parseHint(hintOf({ sessionKey: 'k', generation: 0 }), NOW)).toStrictEqual({ sessionKey: 'k', generation: 0 });
  expect(parseHint(JSON.parse(JSON.stringify(hintOf(active))), NOW)).toStrictEqual({ sessionKey: 'k', generation: 7 });
});

test('a Proxy or a throwing getter (ports that do not clone) is a malformed message, never an exception, and each field is read once', () => {
  const message = announcementOf(active);
  const throwingKeys = new Proxy(message, {
    ownKeys: () => {
      throw new Error('ownKeys trap');
    },
  });
  const throwingGetter = Object.defineProperty({ ...message }, 'accessToken', {
    enumerable: true,
    get: () => {
      throw new Error('getter');
    },
  });
  for (const bad of [throwingKeys, throwingGetter]) {
    expect(() => parseMessage(bad, NOW)).not.toThrow();
    expect(parseMessage(bad, NOW)).toBeUndefined();
    expect(parseHint(bad, NOW)).toBeUndefined();
  }
  // A getter that answers differently each time cannot pass one value to the check and another to the result.
  let reads = 0;
  const shifting = Object.defineProperty({ ...message }, 'accessToken', {
    enumerable: true,
    get: () => (reads++ === 0 ? 'checked-token' : ''),
  });
  expect(parseMessage(shifting, NOW)).toMatchObject({ accessToken: 'checked-token' });
  expect(reads).toBe(1);
});
