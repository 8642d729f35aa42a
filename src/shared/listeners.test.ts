import { expect, test } from '@playwright/test';
import { createListenerSet } from './listeners.js';

/** The next unhandled rejection, caught here instead of by the test runner, which would fail the test for it. */
async function nextUnhandledRejection(run: () => void): Promise<unknown> {
  const runners = process.listeners('unhandledRejection');
  process.removeAllListeners('unhandledRejection');
  try {
    const reported = new Promise<unknown>((resolve) => process.once('unhandledRejection', resolve));
    run();
    return await reported;
  } finally {
    process.removeAllListeners('unhandledRejection');
    for (const runner of runners) process.on('unhandledRejection', runner);
  }
}

test('emit calls every listener in the order added; each unsubscribe removes its own registration once', () => {
  const set = createListenerSet<number>();
  const calls: string[] = [];
  const a = (value: number): void => void calls.push(`a${value}`);
  const stopA1 = set.add(a);
  const stopB = set.add((value) => calls.push(`b${value}`));
  const stopA2 = set.add(a);
  expect(set.size).toBe(3);
  set.emit(1);
  expect(calls).toEqual(['a1', 'b1', 'a1']);

  stopA1();
  stopA1();
  expect(set.size).toBe(2);
  set.emit(2);
  expect(calls.slice(3)).toEqual(['b2', 'a2']);

  stopB();
  stopA2();
  expect(set.size).toBe(0);
  set.emit(3);
  expect(calls).toHaveLength(5);
});

test('a listener added or removed during emit takes effect from the next emit', () => {
  const set = createListenerSet<string>();
  const calls: string[] = [];
  let stopLate = (): void => {};
  set.add((value) => {
    calls.push(`first ${value}`);
    stopLate();
    set.add((again) => calls.push(`added ${again}`));
  });
  stopLate = set.add((value) => calls.push(`late ${value}`));
  set.emit('x');
  expect(calls).toEqual(['first x', 'late x']);
  set.emit('y');
  expect(calls.slice(2)).toEqual(['first y', 'added y']);
});

test('a throwing listener is reported as an unhandled rejection, and the listeners after it still run', async () => {
  const set = createListenerSet<string>();
  const calls: string[] = [];
  const failure = new Error('faulty listener');
  set.add((value) => calls.push(`before ${value}`));
  set.add(() => {
    throw failure;
  });
  set.add((value) => calls.push(`after ${value}`));
  const reported = await nextUnhandledRejection(() => set.emit('v'));
  expect(reported).toBe(failure);
  expect(calls).toEqual(['before v', 'after v']);
});

test('clear removes every registration; unsubscribe functions from before stay harmless', () => {
  const set = createListenerSet<void>();
  let calls = 0;
  const stop = set.add(() => calls++);
  set.add(() => calls++);
  set.clear();
  expect(set.size).toBe(0);
  set.emit();
  expect(calls).toBe(0);
  const stopAfter = set.add(() => calls++);
  stop();
  expect(set.size).toBe(1);
  set.emit();
  expect(calls).toBe(1);
  stopAfter();
  expect(set.size).toBe(0);
});
