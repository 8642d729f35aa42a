/**
 * The counterexamples the model found on the core of cf0308c, shrunk by
 * fast-check, one per hole (docs/model-based-tests.md gives the command that
 * found each). Each replays its command list under 20 interleavings of the
 * scheduler (fixed seed).
 *
 * Holes 1 to 5 and finding A are closed: their cases are plain tests that keep them closed.
 * `test.fail`: the hole is open, so the model finds its property violated and
 * the assertion fails, as expected. Once the hole is closed the assertion holds,
 * the test passes and `test.fail` reports that loudly: then flip it to a plain
 * `test` that asserts `expect(await replay(settings, commands)).toBeUndefined()`.
 */
import { expect, test } from '@playwright/test';
import { Advance, Clear, Deliver, GetToken, Jump, Respond, WindowAction, type Command } from './commands.js';
import { replay } from './explore.js';
import type { ModelSettings, Property } from './world.js';

const one: ModelSettings = { windows: 1, profile: 'oidc', accessTtlSeconds: 300, refreshTtlSeconds: undefined, leewaySeconds: 0, attempts: 1, autoRefresh: false };

/** The model finds no violation of `property` (for an open hole it does: see test.fail). */
async function expectNo(property: Property, settings: ModelSettings, commands: readonly Command[]): Promise<void> {
  const found = await replay(settings, commands);
  expect(found?.property, found ? `${found.message}\n${found.trace.join('\n')}` : 'no violation').not.toBe(property);
}

test.describe('holes of issue 14 the model finds (shrunk counterexamples)', () => {
  test('hole 1 (closed): no refresh storm when the leeway exceeds the token lifetime (three windows, leeway 60 s, 30 s tokens)', async () => {
    // npm run fuzz -- --runs 3000 --seed 1 --faults leeway
    await expectNo('one-refresh-per-expiry', { ...one, windows: 3, accessTtlSeconds: 30, leewaySeconds: 60 }, [
      new GetToken(1, undefined, false),
      new GetToken(2, undefined, false),
      new WindowAction('close', 0),
    ]);
  });

  test('hole 1 (closed): no refresh storm when a need exceeds the token lifetime (one window, 30 s tokens, a caller needing 3700 s)', async () => {
    // npm run fuzz -- --runs 3000 --seed 3 --faults leeway
    await expectNo('one-refresh-per-expiry', { ...one, accessTtlSeconds: 30 }, [new GetToken(0, undefined, true), new GetToken(0, 3700, false), new GetToken(0, undefined, false)]);
  });

  test('hole 2 (closed): a late announcement never undoes a sign-out in one window', async () => {
    // npm run fuzz -- --runs 3000 --seed 1 --faults reorder
    await expectNo('forward-only', { ...one, windows: 2 }, [new WindowAction('signOut', 0), new Deliver(3, 'deliver')]);
  });

  test('hole 3 (closed): a new sign-in lost to an old session’s write (storage cleared during a refresh)', async () => {
    // npm run fuzz -- --runs 3000 --seed 1 --faults clear
    await expectNo('no-older-overwrite', one, [new GetToken(0, undefined, true), new Clear(), new WindowAction('setSession', 0), new GetToken(0, undefined, false)]);
  });

  test('hole 4 (closed): Retry-After is capped (400 digits parse to Infinity: the stored record fails validation)', async () => {
    // npm run fuzz -- --runs 3000 --seed 14 --faults retry-after
    await expectNo('store-valid', one, [
      new GetToken(0, undefined, true),
      new GetToken(0, undefined, false),
      new Respond(0, { kind: '5xx', retryAfter: '9'.repeat(400) }),
      new GetToken(0, undefined, false),
    ]);
  });

  test('hole 4 (closed): Retry-After is capped (one year: TRANSIENT without a request long after any cap)', async () => {
    await expectNo('backoff-bound', one, [
      new GetToken(0, undefined, true),
      new Respond(0, { kind: '5xx', retryAfter: '31536000' }),
      new Advance(86_400_000, false),
      new GetToken(0, undefined, true),
    ]);
  });

  test('hole 5 (closed): clock jumps (the clock 40 days ahead for a moment ends a session whose 30-day refresh token still works)', async () => {
    // npm run fuzz -- --runs 3000 --seed 14 --faults clock-jump
    await expectNo('no-unasked-sign-out', { ...one, refreshTtlSeconds: 30 * 86_400 }, [new Jump(40 * 86_400_000), new GetToken(0, undefined, false), new Advance(1_000, false)]);
  });

  test('hole 5 (closed): clock jumps (the clock set back one hour after a 60 s Retry-After blocks for 3,660 s)', async () => {
    await expectNo('backoff-bound', one, [
      new GetToken(0, undefined, true),
      new Respond(0, { kind: '5xx', retryAfter: '60' }),
      new Jump(-3_600_000),
      new Advance(61_000, false),
      new GetToken(0, undefined, true),
    ]);
  });

  test('finding A (closed): a caller joined to a refresh never gets a token that expired while the refresh’s write was in flight (a machine asleep mid-write)', async () => {
    // npm run fuzz -- --runs 3000 --seed 2 --faults sleep
    await expectNo('caller-result', one, [
      new GetToken(0, undefined, true),
      new Respond(0, { kind: 'success' }),
      new Advance(86_400_000, true),
      new GetToken(0, undefined, false),
      new Advance(1_000, true),
    ]);
  });
});
