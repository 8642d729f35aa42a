import { expect, test } from '@playwright/test';
import { ALL_FAULTS, FAULTS, type Fault } from './commands.js';
import { explore } from './explore.js';

/**
 * Fault classes today's core is known to break, each waiting for the hole it
 * finds (test/model/regressions.test.ts keeps the counterexamples).
 * Remove a class from this list when its hole is closed: its test below then runs.
 */
const WAITING: readonly Fault[] = ['leeway', 'reorder', 'clear', 'retry-after', 'clock-jump', 'sleep'];
const SEED = 14;
const RUNS = 200;

const enabled = ALL_FAULTS.filter((fault) => !WAITING.includes(fault));

test.describe('model-based runs (fast-check, fixed seed; long runs: npm run fuzz)', () => {
  test(`${RUNS} random runs of 1 to 6 windows keep every property, with the fault classes that no open hole breaks`, async () => {
    for (const fault of WAITING) console.log(`model: fault class '${fault}' off until ${FAULTS[fault].finds} is closed: ${FAULTS[fault].what}`);
    const outcome = await explore({ runs: RUNS, seed: SEED, faults: enabled });
    expect(outcome.failed ? outcome.report : `${outcome.runs} runs`).toBe(`${RUNS} runs`);
  });

  for (const fault of ALL_FAULTS) {
    test(`${RUNS} random runs with fault class '${fault}' (${FAULTS[fault].what})`, async () => {
      test.skip(WAITING.includes(fault), `waits for ${FAULTS[fault].finds}: the current core breaks a property under it`);
      const outcome = await explore({ runs: RUNS, seed: SEED, faults: [...enabled, fault] });
      expect(outcome.failed ? outcome.report : `${outcome.runs} runs`).toBe(`${RUNS} runs`);
    });
  }
});
