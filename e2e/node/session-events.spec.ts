import { writeFile } from 'node:fs/promises';
import type { Pool } from 'pg';
import type { SessionBackend } from '../../src/node/backend.js';
import { createFileBackend } from '../../src/node/file-backend.js';
import { createPostgresBackend } from '../../src/node/postgres-backend.js';
import type { SessionChange } from '../../src/shared/events.js';
import { expect, test } from './support/fixtures.js';
import { coordinatorOn } from './support/scenario.js';

const backends: Array<{ name: string; open: (pool: Pool, directory: string) => SessionBackend }> = [
  { name: 'PostgreSQL', open: (pool) => createPostgresBackend({ pool }) },
  { name: 'files', open: (_pool, directory) => createFileBackend({ directory }) },
];

/** Resolves when the backend's notices (NOTIFY, or the file watcher) report `generation` of `sessionKey`. */
function noticeOf(backend: SessionBackend, sessionKey: string, generation: number): Promise<void> {
  return new Promise((resolve) => {
    const stop = backend.notices.listen(sessionKey, (hint) => {
      if (hint.generation !== generation) return;
      stop();
      resolve();
    });
  });
}

for (const kind of backends) {
  test(`${kind.name}: one process, five forced refreshes are five rotations, never its own write read back as adopted`, async ({ oauth, pool, directory, sessionKey }) => {
    const backend = kind.open(pool, directory);
    const coordinator = coordinatorOn(oauth, backend, sessionKey);
    const changes: Array<[SessionChange, number]> = [];
    coordinator.subscribe((event) => {
      if (event.type === 'session-changed') changes.push([event.change, event.generation]);
    });
    try {
      await coordinator.setSession(await oauth.mintSession());
      const lastNotice = noticeOf(backend, sessionKey, 6);
      const tokens = new Set<string>();
      for (let i = 0; i < 5; i++) tokens.add(await coordinator.getAccessToken({ forceRefresh: true }));
      // The notice of the last write, and the re-read it triggers, are over before the list is read.
      await lastNotice;
      await coordinator.reload();
      expect(changes).toEqual([['signed-in', 1], ['rotated', 2], ['rotated', 3], ['rotated', 4], ['rotated', 5], ['rotated', 6]]);
      expect(tokens.size).toBe(5);
      expect(oauth.stats()).toMatchObject({ refreshRequests: 5, refreshSucceeded: 5, invalidGrant: 0, grantsRevoked: 0 });
    } finally {
      coordinator.close();
      await backend.close();
    }
  });
}

test('reload() rejects with the coded error when the store cannot be read (files: STORE_CORRUPT, PostgreSQL: a missing table)', async ({ oauth, pool, directory, sessionKey }) => {
  const files = createFileBackend({ directory });
  const missingTable = createPostgresBackend({ pool, table: 'tokenherd_never_migrated' });
  const onFiles = coordinatorOn(oauth, files, sessionKey);
  const onPostgres = coordinatorOn(oauth, missingTable, sessionKey);
  try {
    await onFiles.setSession(await oauth.mintSession());
    await writeFile(files.fileOf(sessionKey), '{"truncated":');
    await expect(onFiles.reload()).rejects.toMatchObject({ name: 'TokenHerdError', code: 'STORE_CORRUPT' });
    await expect(onPostgres.reload()).rejects.toMatchObject({ name: 'TokenHerdError', code: 'INVALID_OPTIONS' });
  } finally {
    onFiles.close();
    onPostgres.close();
    await files.close();
    await missingTable.close();
  }
});
