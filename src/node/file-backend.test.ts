import { expect, test as base } from '@playwright/test';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoredSession } from '../shared/session.js';
import { createFileBackend, type FileBackend } from './file-backend.js';
import { expectSessionIdsChecked } from '../../test/support/store-contract.js';

const test = base.extend<{ directory: string; open: (options?: { poll?: boolean }) => FileBackend }>({
  directory: async ({}, use) => {
    const root = await mkdtemp(join(tmpdir(), 'tokenherd-file-test-'));
    await use(join(root, 'sessions'));
    await rm(root, { recursive: true, force: true });
  },
  open: async ({ directory }, use) => {
    const opened: FileBackend[] = [];
    await use((options = {}) => {
      const backend = createFileBackend({ directory, pollIntervalMs: 50, ...options });
      opened.push(backend);
      return backend;
    });
    await Promise.all(opened.map((b) => b.close()));
  },
});

const KEY = 'github:alice';
const NOW = Date.now();
const record = (generation: number, accessToken = `at-${generation}`): StoredSession => ({
  sessionKey: KEY,
  generation,
  state: 'active',
  cause: generation === 1 ? 'signed-in' : 'rotated',
  tokens: { accessToken, refreshToken: `rt-${generation}`, expiresAt: NOW + 60_000 },
  updatedAt: NOW,
});

test('compare-and-set on the generation; files 0600 in a 0700 directory; no temporary file left', async ({ directory, open }) => {
  const { store, fileOf } = open();
  expect(await store.read(KEY)).toBeUndefined();
  expect(await store.compareAndSet(KEY, { generation: 0 }, record(1))).toEqual({ ok: true });
  expect(await store.compareAndSet(KEY, { generation: 0 }, record(1, 'late'))).toEqual({ ok: false, current: record(1) });
  expect(await store.compareAndSet(KEY, { generation: 1 }, record(2))).toEqual({ ok: true });
  expect(await store.read(KEY)).toEqual(record(2));
  expect((await stat(fileOf(KEY))).mode & 0o777).toBe(0o600);
  expect((await stat(directory)).mode & 0o777).toBe(0o700);
  expect(await readdir(directory)).toEqual([fileOf(KEY).slice(directory.length + 1)]);
});

test('two backends on one directory (two processes) see each other and exclude each other', async ({ open }) => {
  const a = open();
  const b = open();
  await a.store.compareAndSet(KEY, { generation: 0 }, record(1));
  expect(await b.store.compareAndSet(KEY, { generation: 0 }, record(1, 'other'))).toMatchObject({ ok: false, current: { generation: 1 } });

  let release!: () => void;
  const held = a.lock.request('tokenherd:k', {}, () => new Promise<void>((resolve) => (release = resolve)));
  await expect.poll(() => release).toBeDefined();
  const giveUp = new AbortController();
  const waiting = b.lock.request('tokenherd:k', { signal: giveUp.signal }, async () => 'granted');
  giveUp.abort('lock timeout');
  await expect(waiting).rejects.toBe('lock timeout');
  const next = b.lock.request('tokenherd:k', {}, async () => 'granted');
  release();
  await held;
  expect(await next).toBe('granted');
});

for (const poll of [false, true]) {
  test(`a write by another backend is noticed with its generation (${poll ? 'polling' : 'fs.watch'})`, async ({ open }) => {
    const watching = open({ poll });
    const writer = open();
    const hints: unknown[] = [];
    const stop = watching.notices.listen(KEY, (hint) => hints.push(hint));
    // Watching starts once the directory exists: write until the first write is noticed.
    await expect.poll(async () => {
      if (hints.length === 0) {
        const current = (await writer.store.read(KEY))?.generation ?? 0;
        await writer.store.compareAndSet(KEY, { generation: current }, record(current + 1));
      }
      return hints.length;
    }).toBeGreaterThan(0);
    const generation = (await writer.store.read(KEY))!.generation;
    await writer.store.compareAndSet(KEY, { generation: generation }, record(generation + 1));
    await expect.poll(() => hints.at(-1)).toEqual({ sessionKey: KEY, generation: generation + 1 });
    stop();
  });
}

test('a backend gives no notice of a key while one of its own writes of it is in progress (hole 13)', async ({ open }) => {
  const backend = open();
  let writing = false;
  const duringWrites: unknown[] = [];
  const hints: unknown[] = [];
  const stop = backend.notices.listen(KEY, (hint) => (writing ? duringWrites : hints).push(hint));
  await expect.poll(async () => {
    // Watching starts once the directory exists: write until the first write is noticed.
    const current = (await backend.store.read(KEY))?.generation ?? 0;
    if (hints.length === 0) await backend.store.compareAndSet(KEY, { generation: current }, record(current + 1));
    return hints.length;
  }).toBeGreaterThan(0);
  // Back to back, as a refresh writes its in-flight marker and then the rotation: each write's
  // notice would otherwise arrive while the next one is under way.
  let generation = (await backend.store.read(KEY))!.generation;
  for (let i = 0; i < 20; i++) {
    writing = true;
    expect(await backend.store.compareAndSet(KEY, { generation: generation }, record(generation + 1))).toEqual({ ok: true });
    writing = false;
    generation++;
  }
  expect(duringWrites).toEqual([]);
  await expect.poll(() => hints.at(-1)).toEqual({ sessionKey: KEY, generation });
  stop();
});

const damaged: Array<[string, string]> = [
  ['empty', ''],
  ['truncated', JSON.stringify(record(3)).slice(0, 40)],
  ['not a session', JSON.stringify({ hello: 'world' })],
  ['another key', JSON.stringify({ ...record(3), sessionKey: 'someone-else' })],
];
for (const [name, content] of damaged) {
  test(`a damaged file (${name}): read and compare-and-set reject with STORE_CORRUPT, the file is untouched`, async ({ open }) => {
    const { store, fileOf } = open();
    await store.compareAndSet(KEY, { generation: 0 }, record(1));
    await writeFile(fileOf(KEY), content);
    await expect(store.read(KEY)).rejects.toMatchObject({ code: 'STORE_CORRUPT', message: expect.stringContaining(fileOf(KEY)) });
    for (const expected of [0, 1, 3]) {
      await expect(store.compareAndSet(KEY, { generation: expected }, record(expected + 1))).rejects.toMatchObject({ code: 'STORE_CORRUPT' });
    }
    expect(await readFile(fileOf(KEY), 'utf8')).toBe(content);
  });
}

test('options are checked', () => {
  expect(() => createFileBackend({ directory: '' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  expect(() => createFileBackend({ directory: '/tmp/x', staleLockMs: 100 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  expect(() => createFileBackend({ directory: '/tmp/x', pollIntervalMs: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
});

test('compare-and-set checks the session id: after the credentials file is deleted and a new sign-in, the old session writes nothing (I10)', async ({ open }) => {
  const { store, fileOf } = open();
  await expectSessionIdsChecked(store, KEY, () => rm(fileOf(KEY)));
});
