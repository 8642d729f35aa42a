import { expect, test } from '@playwright/test';
import { createMemoryLocks } from '../testing/memory.js';
import type { LockPort } from '../shared/ports.js';
import { createProcessLocks } from './process-locks.js';

/** A cross-process lock stand-in that counts how often this process contends for it. */
function countingLocks(): LockPort & { requests: number; snapshot(): { held: string[]; pending: number } } {
  const inner = createMemoryLocks();
  const counted = {
    requests: 0,
    request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> {
      counted.requests++;
      return inner.request(name, options, callback);
    },
    snapshot: () => inner.snapshot(),
  };
  return counted;
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

test('callers of one process contend once: the cross-process lock is handed from one to the next, in order', async () => {
  const inner = countingLocks();
  const locks = createProcessLocks(inner);
  const order: number[] = [];
  const first = deferred();
  const results = Array.from({ length: 20 }, (_, i) =>
    locks.request('tokenherd:k', {}, async () => {
      if (i === 0) await first.promise;
      order.push(i);
      return i;
    }),
  );
  first.resolve();
  expect(await Promise.all(results)).toEqual([...Array(20).keys()]);
  expect(order).toEqual([...Array(20).keys()]);
  expect(inner.requests).toBe(1);
  await expect.poll(() => inner.snapshot()).toEqual({ held: [], pending: 0 });
});

test('each name has its own queue', async () => {
  const inner = countingLocks();
  const locks = createProcessLocks(inner);
  const hold = deferred();
  const a = locks.request('a', {}, () => hold.promise.then(() => 'a'));
  expect(await locks.request('b', {}, async () => 'b')).toBe('b');
  hold.resolve();
  expect(await a).toBe('a');
  expect(inner.requests).toBe(2);
});

test('a waiter whose signal aborts leaves the queue with the reason; the others still run', async () => {
  const locks = createProcessLocks(countingLocks());
  const hold = deferred();
  const holder = locks.request('k', {}, () => hold.promise);
  const leaving = new AbortController();
  const left = locks.request('k', { signal: leaving.signal }, async () => 'never');
  const staying = locks.request('k', {}, async () => 'ran');
  leaving.abort('satisfied elsewhere');
  await expect(left).rejects.toBe('satisfied elsewhere');
  hold.resolve();
  await holder;
  expect(await staying).toBe('ran');
});

test('when every waiter leaves before the grant, the cross-process request is withdrawn', async () => {
  const inner = countingLocks();
  const other = deferred();
  // Another process holds the lock.
  const elsewhere = inner.request('k', {}, () => other.promise);
  const locks = createProcessLocks(inner);
  const leaving = new AbortController();
  const waiting = locks.request('k', { signal: leaving.signal }, async () => 'never');
  await expect.poll(() => inner.snapshot().pending).toBe(1);
  leaving.abort('timeout');
  await expect(waiting).rejects.toBe('timeout');
  expect(inner.snapshot().pending).toBe(0);
  other.resolve();
  await elsewhere;
  expect(await locks.request('k', {}, async () => 'later')).toBe('later');
});

test('a lock that fails before the grant fails every waiter of this process with its error', async () => {
  const failure = new Error('database unreachable');
  const locks = createProcessLocks({ request: () => Promise.reject(failure) });
  const results = await Promise.allSettled([locks.request('k', {}, async () => 1), locks.request('k', {}, async () => 2)]);
  expect(results).toEqual([
    { status: 'rejected', reason: failure },
    { status: 'rejected', reason: failure },
  ]);
});

test('a callback that throws rejects only its own caller', async () => {
  const locks = createProcessLocks(countingLocks());
  const results = await Promise.allSettled([
    locks.request('k', {}, async () => {
      throw new Error('refresh failed');
    }),
    locks.request('k', {}, async () => 'next'),
  ]);
  expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: 'refresh failed' } });
  expect(results[1]).toEqual({ status: 'fulfilled', value: 'next' });
});
