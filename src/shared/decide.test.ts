import { expect, test } from '@playwright/test';
import { decide, judge, markerFor, type DecisionAt, type Need, type Sent, type Situation, type Vantage, type Verdict } from './decide.js';
import { ErrorCode } from './errors.js';
import type { RefreshOutcome } from './ports.js';
import { MAX_BACKOFF_MS, type ActiveSession, type RefreshInFlight, type StoredSession } from './session.js';
import { resolveSettings, type ProviderProfile } from './settings.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;

function active(tokens: Partial<ActiveSession['tokens']> = {}, extra: Partial<ActiveSession> = {}): ActiveSession {
  return {
    sessionKey: 'k',
    generation: 4,
    state: 'active',
    cause: 'rotated',
    tokens: { accessToken: 'at-4', refreshToken: 'rt-4', expiresAt: NOW + 10 * MINUTE, ...tokens },
    updatedAt: NOW - MINUTE,
    ...extra,
  };
}
const expired = (extra: Partial<ActiveSession> = {}, tokens: Partial<ActiveSession['tokens']> = {}) => active({ expiresAt: NOW - 1, ...tokens }, extra);
const withoutRefreshToken: ActiveSession = { ...expired(), tokens: { accessToken: 'at-4', expiresAt: NOW - 1 } };
const stillValidWithoutRefreshToken: ActiveSession = { ...active(), tokens: { accessToken: 'at-4', expiresAt: NOW + 30_000 } };
const signedOut = (cause: 'signed-out' | 'expired'): StoredSession => ({ sessionKey: 'k', generation: 5, state: 'signed-out', cause, updatedAt: NOW });

const need: Need = { minValidityMs: MINUTE };
const at = <At extends Vantage>(where: At, record: StoredSession | undefined, more: Partial<Situation<At>> = {}): Situation<At> => ({
  record,
  need,
  at: where,
  now: NOW,
  adoptions: 0,
  offline: false,
  ...more,
});

/** An expected decision or verdict: its fields as the code types them, except that a reason may be a matcher. */
type Expected<Answer> = Answer extends unknown ? { readonly [Field in keyof Answer]: Field extends 'reason' ? Answer[Field] | ReturnType<typeof expect.any> : Answer[Field] } : never;
/** A row of the table: a situation at one vantage point and a decision `decide` can give there. */
type Row = { [At in Vantage]: readonly [rule: string, situation: Situation<At>, decision: Expected<DecisionAt<At>>] }[Vantage];
/** Part of an expected answer, for `toMatchObject`: any subset of its fields, at any depth. */
type Like<Answer> = Answer extends object ? { readonly [Field in keyof Answer]?: Like<Answer[Field]> } : Answer;

test.describe('decide: one row per rule', () => {
  const rows: readonly Row[] = [
    ['I4: a token valid for the need is used from memory', at('memory', active()), { do: 'use', token: 'at-4' }],
    ['memory that cannot serve (too close to expiry) sends the caller to the store', at('memory', active({ expiresAt: NOW + MINUTE })), { do: 'read' }],
    ['memory that knows nothing sends the caller to the store', at('memory', undefined), { do: 'read' }],
    ['a tombstone in memory is checked against the store, not trusted', at('memory', signedOut('signed-out')), { do: 'read' }],
    ['forceRefresh: the refused token is not used again, from memory', at('memory', active(), { need: { ...need, refusedToken: 'at-4' } }), { do: 'read' }],
    ['adopt: a token another window stored is used without the lock', at('store', active()), { do: 'use', token: 'at-4' }],
    ['forceRefresh: another token than the refused one is used', at('store', active(), { need: { ...need, refusedToken: 'forged' } }), { do: 'use', token: 'at-4' }],
    ['nothing stored: NOT_SIGNED_IN', at('store', undefined), { do: 'fail', code: ErrorCode.NOT_SIGNED_IN, reason: expect.any(String) }],
    ['a sign-out tombstone: NOT_SIGNED_IN', at('store', signedOut('signed-out')), { do: 'fail', code: ErrorCode.NOT_SIGNED_IN, reason: expect.any(String) }],
    ['an expiry tombstone: SESSION_EXPIRED', at('lock', signedOut('expired')), { do: 'fail', code: ErrorCode.SESSION_EXPIRED, reason: expect.any(String) }],
    ['I1: a stored token that cannot serve sends the caller to the lock, not the network', at('store', expired()), { do: 'lock' }],
    ['I2: under the lock, a token stored meanwhile is used and nothing is sent', at('lock', active()), { do: 'use', token: 'at-4' }],
    [
      'I7: an expired access token with a live refresh token is refreshed',
      at('lock', expired()),
      { do: 'refresh', session: expired(), refreshToken: 'rt-4' },
    ],
    [
      'forceRefresh: the refused token is refreshed even though it has not expired',
      at('lock', active(), { need: { ...need, refusedToken: 'at-4' } }),
      { do: 'refresh', session: active(), refreshToken: 'rt-4' },
    ],
    [
      'no refresh token: the session expires',
      at('lock', withoutRefreshToken),
      { do: 'expire', session: withoutRefreshToken, reason: expect.stringContaining('no refresh token') },
    ],
    [
      'no refresh token, an access token that still works but not as long as asked: CANNOT_REFRESH, nothing expires (hole 6)',
      at('lock', stillValidWithoutRefreshToken, { need: { minValidityMs: MINUTE } }),
      { do: 'fail', code: ErrorCode.CANNOT_REFRESH, reason: expect.stringContaining('no refresh token') },
    ],
    [
      'forceRefresh without a refresh token: the refused access token ends the session',
      at('lock', stillValidWithoutRefreshToken, { need: { ...need, refusedToken: 'at-4' } }),
      { do: 'expire', session: stillValidWithoutRefreshToken, reason: expect.stringContaining('no refresh token') },
    ],
    [
      'I1: a record stored since the caller asked holds the freshest token, which serves a need longer than it lives (hole 1)',
      at('lock', active({ expiresAt: NOW + 30_000 }, { generation: 5 }), { need: { minValidityMs: 2 * MINUTE, asked: { generation: 4, at: NOW - MINUTE } } }),
      { do: 'use', token: 'at-4' },
    ],
    [
      'a record the window did not know of, stored before the caller asked, is not the freshest: refresh',
      at('lock', active({ expiresAt: NOW + 30_000 }, { generation: 5, updatedAt: NOW - 2 * MINUTE }), { need: { minValidityMs: MINUTE, asked: { generation: 4, at: NOW - MINUTE } } }),
      { do: 'refresh', session: active({ expiresAt: NOW + 30_000 }, { generation: 5, updatedAt: NOW - 2 * MINUTE }), refreshToken: 'rt-4' },
    ],
    [
      'I11: after the clock went back, a later generation written no earlier than now was stored since the caller asked',
      at('lock', active({ expiresAt: NOW + 30_000 }, { generation: 5, updatedAt: NOW }), { need: { minValidityMs: MINUTE, asked: { generation: 4, at: NOW + MINUTE } } }),
      { do: 'use', token: 'at-4' },
    ],
    [
      'I11: a clock set back a little does not make a record written before the caller asked look fresh',
      at('lock', active({ expiresAt: NOW + 30_000 }, { generation: 5, updatedAt: NOW - 2 * MINUTE }), { need: { minValidityMs: MINUTE, asked: { generation: 4, at: NOW + MINUTE } } }),
      { do: 'refresh', session: active({ expiresAt: NOW + 30_000 }, { generation: 5, updatedAt: NOW - 2 * MINUTE }), refreshToken: 'rt-4' },
    ],
    [
      'I11: a refresh token past refresh_token_expires_in on the local clock is still sent: the provider decides',
      at('lock', expired({}, { refreshExpiresAt: NOW })),
      { do: 'refresh', session: expired({}, { refreshExpiresAt: NOW }), refreshToken: 'rt-4' },
    ],
    [
      'I6: a provider that asked everyone to wait is not asked again before then',
      at('lock', expired({ backoff: { since: NOW - 1_000, ms: 6_000 } })),
      { do: 'fail', code: ErrorCode.TRANSIENT, reason: expect.stringContaining('5000 ms') },
    ],
    [
      'I6: the backoff is over: refresh',
      at('lock', expired({ backoff: { since: NOW - 6_000, ms: 6_000 } })),
      { do: 'refresh', session: expired({ backoff: { since: NOW - 6_000, ms: 6_000 } }), refreshToken: 'rt-4' },
    ],
    [
      'I11: a clock set back before the backoff began cannot stretch it: refresh',
      at('lock', expired({ backoff: { since: NOW + 3_600_000, ms: 60_000 } })),
      { do: 'refresh', session: expired({ backoff: { since: NOW + 3_600_000, ms: 60_000 } }), refreshToken: 'rt-4' },
    ],
    ['I6: offline, with the probe spent: no request', at('lock', expired(), { offline: true }), { do: 'fail', code: ErrorCode.TRANSIENT, reason: expect.stringContaining('Offline') }],
    [
      'I5: one adoption after a refusal, then a refresh of what was adopted',
      at('lock', expired(), { adoptions: 1 }),
      { do: 'refresh', session: expired(), refreshToken: 'rt-4' },
    ],
    [
      'I5: a second adoption, after a refusal or not, ends the operation as TRANSIENT, not the session the store holds: no loops',
      at('lock', expired(), { adoptions: 2 }),
      { do: 'fail', code: ErrorCode.TRANSIENT, reason: expect.stringContaining('kept changing') },
    ],
    ['a usable token wins over every limit', at('lock', active(), { adoptions: 2, offline: true }), { do: 'use', token: 'at-4' }],
  ];
  for (const [rule, situation, decision] of rows) {
    test(rule, () => {
      expect(decide(situation)).toEqual(decision);
    });
  }

  test('I9: validity is measured against the local expiry at receipt; a token without expires_in is used until refused', () => {
    const record = active({ expiresAt: NOW + 2 * MINUTE });
    expect(decide(at('memory', record, { need: { minValidityMs: MINUTE } }))).toEqual({ do: 'use', token: 'at-4' });
    expect(decide(at('memory', record, { need: { minValidityMs: 2 * MINUTE } }))).toEqual({ do: 'read' });
    const noExpiry: ActiveSession = { ...active(), tokens: { accessToken: 'at-4', refreshToken: 'rt-4' } };
    expect(decide(at('memory', noExpiry, { need: { minValidityMs: 86_400_000 } }))).toEqual({ do: 'use', token: 'at-4' });
  });
});

test.describe('judge: what a response means', () => {
  const settings = (profile?: ProviderProfile) => resolveSettings({ sessionKey: 'k', retry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 1_000 }, ...(profile && { profile }) });
  const earlier = { since: NOW - 2_000, unknownSends: 1 };
  const sent = (more: Partial<Sent> = {}, session = expired()): Sent => ({ session, marker: markerFor(session, NOW), attempt: 1, now: NOW, offline: false, ...more });
  const transient = (answered: boolean, retryAfterMs?: number): RefreshOutcome => ({ kind: 'transient', reason: 'HTTP 503', answered, ...(retryAfterMs !== undefined && { retryAfterMs }) });

  test('I3, I9: tokens are stored as the next generation, expiring expires_in after receipt', () => {
    const response = { access_token: 'at-5', token_type: 'Bearer', expires_in: 3600, refresh_token: 'rt-5' };
    expect(judge({ kind: 'tokens', response }, sent(), settings(), 0)).toEqual({
      do: 'store',
      next: { sessionKey: 'k', generation: 5, state: 'active', cause: 'rotated', tokens: { accessToken: 'at-5', refreshToken: 'rt-5', expiresAt: NOW + 3_600_000 }, updatedAt: NOW },
    } satisfies Expected<Verdict>);
  });

  test('a provider that does not rotate keeps the refresh token and its expiry', () => {
    const session = expired({}, { refreshExpiresAt: NOW + 999 });
    const verdict = judge({ kind: 'tokens', response: { access_token: 'at-5', token_type: 'Bearer' } }, sent({}, session), settings('non-rotating'), 0);
    expect(verdict).toMatchObject({ do: 'store', next: { tokens: { accessToken: 'at-5', refreshToken: 'rt-4', refreshExpiresAt: NOW + 999 } } } satisfies Like<Verdict>);
  });

  test('a malformed token response fails INVALID_TOKEN_RESPONSE and leaves the marker: the token may have been rotated', () => {
    const verdict = judge({ kind: 'tokens', response: { access_token: 'x', token_type: 'Bearer', expires_in: '3600' } }, sent(), settings(), 0);
    expect(verdict).toEqual({ do: 'fail', code: ErrorCode.INVALID_TOKEN_RESPONSE, reason: expect.stringContaining('expires_in') } satisfies Expected<Verdict>);
  });

  test('I5: a refused token expires the session by compare-and-set; after a lost response the reason says so', () => {
    expect(judge({ kind: 'rejected', error: 'invalid_grant', status: 400 }, sent(), settings(), 0)).toEqual({
      do: 'expire',
      reason: expect.not.stringContaining('lost'),
      refusal: { error: 'invalid_grant', status: 400 },
    } satisfies Expected<Verdict>);
    expect(judge({ kind: 'rejected', error: 'invalid_grant' }, sent({}, expired({ refreshInFlight: earlier })), settings(), 0)).toEqual({
      do: 'expire',
      reason: expect.stringContaining('response lost'),
      refusal: { error: 'invalid_grant' },
    } satisfies Expected<Verdict>);
  });

  test('an answer that is not about the token restores the record as it was before the send', () => {
    const session = expired({ refreshInFlight: earlier });
    const refusal = { error: 'invalid_client', description: 'client authentication failed', status: 401 };
    expect(judge({ kind: 'provider-error', ...refusal }, sent({}, session), settings(), 0)).toEqual({
      do: 'fail',
      code: ErrorCode.PROVIDER_ERROR,
      reason: expect.stringContaining('invalid_client'),
      recovery: { refreshInFlight: earlier },
      refusal,
    } satisfies Expected<Verdict>);
  });

  test('a 2xx that cannot be used keeps the marker, whether its body is not JSON or fails validation: the provider may have rotated', () => {
    expect(judge({ kind: 'invalid-response', reason: 'HTML' }, sent(), settings(), 0)).toEqual({
      do: 'fail',
      code: ErrorCode.INVALID_TOKEN_RESPONSE,
      reason: expect.stringContaining('HTML'),
    } satisfies Expected<Verdict>);
  });

  test('I6: an answered 5xx is retried after full-jitter backoff, and Retry-After is a floor', () => {
    expect(judge(transient(true), sent({ attempt: 1 }), settings(), 0.5)).toEqual({ do: 'retry', delayMs: 50, reason: expect.any(String), recovery: {} } satisfies Expected<Verdict>);
    expect(judge(transient(true), sent({ attempt: 2 }), settings(), 0.5)).toMatchObject({ do: 'retry', delayMs: 100 } satisfies Like<Verdict>);
    expect(judge(transient(true, 800), sent({ attempt: 1 }), settings(), 0.5)).toMatchObject({ do: 'retry', delayMs: 800 } satisfies Like<Verdict>);
  });

  test('I6: retries run out, or Retry-After exceeds the cap: TRANSIENT, and the record tells every window to wait', () => {
    expect(judge(transient(true), sent({ attempt: 3 }), settings(), 0.5)).toEqual({
      do: 'fail',
      code: ErrorCode.TRANSIENT,
      reason: expect.any(String),
      recovery: { backoff: { since: NOW, ms: 800 } },
    } satisfies Expected<Verdict>);
    expect(judge(transient(true, 60_000), sent({ attempt: 1 }), settings(), 0.5)).toMatchObject({
      do: 'fail',
      recovery: { backoff: { since: NOW, ms: 60_000 } },
    } satisfies Like<Verdict>);
  });

  test('I11: Retry-After is cut to MAX_BACKOFF_MS, and one that is not a finite number waits that long, never for ever', () => {
    for (const retryAfterMs of [365 * 24 * 3_600_000, Number.POSITIVE_INFINITY, Number.NaN]) {
      expect(judge(transient(true, retryAfterMs), sent({ attempt: 1 }), settings(), 0.5)).toMatchObject({
        do: 'fail',
        recovery: { backoff: { since: NOW, ms: MAX_BACKOFF_MS } },
      } satisfies Like<Verdict>);
    }
  });

  test('I6: offline, a failure sets no shared backoff (the request never left the machine)', () => {
    expect(judge(transient(true), sent({ attempt: 3, offline: true }), settings(), 0.5)).toEqual({ do: 'fail', code: ErrorCode.TRANSIENT, reason: expect.any(String), recovery: {} } satisfies Expected<Verdict>);
  });

  test('recovery: a lost response is not resent to a provider that revokes on reuse; the marker stays', () => {
    expect(judge(transient(false), sent(), settings('oidc'), 0.5)).toEqual({ do: 'fail', code: ErrorCode.TRANSIENT, reason: expect.any(String) } satisfies Expected<Verdict>);
  });

  test('recovery: inside a reuse grace window, or without rotation, a lost response is resent', () => {
    expect(judge(transient(false), sent(), settings({ reuseGraceSeconds: 30 }), 0.5)).toEqual({ do: 'retry', delayMs: 50, reason: expect.any(String) } satisfies Expected<Verdict>);
    expect(judge(transient(false), sent(), settings('non-rotating'), 0.5)).toMatchObject({ do: 'retry' } satisfies Like<Verdict>);
    const late = sent({ marker: { since: NOW - 31_000, unknownSends: 1 } });
    expect(judge(transient(false), late, settings({ reuseGraceSeconds: 30 }), 0.5)).toMatchObject({ do: 'fail', code: ErrorCode.TRANSIENT } satisfies Like<Verdict>);
  });

  test('the marker counts unknown sends from the first one', () => {
    expect(markerFor(expired(), NOW)).toEqual({ since: NOW, unknownSends: 1 } satisfies RefreshInFlight);
    expect(markerFor(expired({ refreshInFlight: earlier }), NOW)).toEqual({ since: earlier.since, unknownSends: 2 } satisfies RefreshInFlight);
  });
});
