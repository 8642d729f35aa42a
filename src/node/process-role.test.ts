import { expect, test } from '@playwright/test';
import { createMemoryLocks } from '../testing/memory.js';
import { createProcessRole } from './process-role.js';

test('one process holds the role; when it lets go, a waiting process takes it at its next try', async () => {
  const locks = createMemoryLocks();
  const [a, b] = [new AbortController(), new AbortController()];
  const held = { a: [] as boolean[], b: [] as boolean[] };
  createProcessRole(locks, { tryMs: 20, everyMs: 50 }).hold('role', a.signal, (h) => held.a.push(h));
  createProcessRole(locks, { tryMs: 20, everyMs: 50 }).hold('role', b.signal, (h) => held.b.push(h));
  await expect.poll(() => held.a).toEqual([true]);
  // b tries and withdraws: it never queues for long behind the holder.
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(held.b).toEqual([]);
  expect(locks.snapshot().pending).toBeLessThanOrEqual(1);
  a.abort();
  await expect.poll(() => held.b).toEqual([true]);
  expect(held.a).toEqual([true, false]);
  b.abort();
  await expect.poll(() => locks.snapshot()).toEqual({ held: [], pending: 0 });
  expect(held.b).toEqual([true, false]);
});
