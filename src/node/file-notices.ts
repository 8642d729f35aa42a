import type { FSWatcher, watch } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { StoredSession } from '../shared/session.js';
import { createNoticeListeners, type NoticePort } from './backend.js';

/**
 * Per session key, the compare-and-sets of one backend in progress. The core applies
 * results in the order their calls started; a write's rename wakes the watcher, and the
 * next write may start while that notice is read. A re-read that the notice triggers
 * during a write reads the file before its rename yet counts as later: the writer
 * drops its own write, then takes it up from the next notice as another's (`adopted`
 * for its own `rotated`). So notices wait for this backend's writes of the key.
 */
export interface WriteTracker {
  /** Runs `run` (a compare-and-set of `sessionKey`) as a write in progress. */
  around<T>(sessionKey: string, run: () => Promise<T>): Promise<T>;
  /** Resolves once no write of `sessionKey` is in progress and its writer has had a turn (one macrotask) to take up its result. */
  settled(sessionKey: string): Promise<void>;
  /** Whether a write of `sessionKey` is in progress. */
  busy(sessionKey: string): boolean;
}

/** A tracker of no writes yet. */
export function createWriteTracker(): WriteTracker {
  const active = new Map<string, { count: number; idle: Promise<void>; resolve: () => void }>();
  return {
    async around<T>(sessionKey: string, run: () => Promise<T>): Promise<T> {
      let entry = active.get(sessionKey);
      if (!entry) {
        let resolve!: () => void;
        const idle = new Promise<void>((done) => (resolve = done));
        entry = { count: 0, idle, resolve };
        active.set(sessionKey, entry);
      }
      const writes = entry;
      writes.count++;
      try {
        return await run();
      } finally {
        if (--writes.count === 0) {
          active.delete(sessionKey);
          writes.resolve();
        }
      }
    },
    async settled(sessionKey: string): Promise<void> {
      do {
        await active.get(sessionKey)?.idle;
        await new Promise((done) => setImmediate(done));
      } while (active.has(sessionKey));
    },
    busy: (sessionKey) => active.has(sessionKey),
  };
}

/**
 * Change notices by watching the directory (files are replaced by rename, so the
 * directory entry changes, not the old file). Where `fs.watch` is unavailable or
 * fails, each watched file is polled with `stat` every `pollIntervalMs`. Writes
 * themselves are the notices: `announce` has nothing to send.
 */
export function createFileNotices(
  directory: string,
  fileOf: (sessionKey: string) => string,
  read: (sessionKey: string) => Promise<StoredSession | undefined>,
  ownWrites: Pick<WriteTracker, 'settled' | 'busy'>,
  watchFn: typeof watch | undefined,
  pollIntervalMs: number,
  isClosed: () => boolean,
): { port: NoticePort; close(): void } {
  const keyOfName = new Map<string, string>();
  const pending = new Set<string>();
  const signatures = new Map<string, string>();
  let watcher: FSWatcher | undefined;
  let poller: NodeJS.Timeout | undefined;
  const listeners = createNoticeListeners((sessionKey) => {
    keyOfName.delete(basename(fileOf(sessionKey)));
    signatures.delete(sessionKey);
    if (listeners.size === 0) stop();
  });

  function changed(sessionKey: string): void {
    if (pending.has(sessionKey)) return;
    pending.add(sessionKey);
    // One rename fires several events: coalesce them into one read and one notice. The notice
    // goes out only while none of this backend's own writes of the key is in progress
    // (createWriteTracker), so that the receiver's re-read starts before or after each of them.
    void (async () => {
      let generation: number;
      do {
        await ownWrites.settled(sessionKey);
        pending.delete(sessionKey);
        // Corrupt or unreadable: the receiver's own read reports it.
        generation = await read(sessionKey).then((record) => record?.generation ?? 0, () => 0);
      } while (ownWrites.busy(sessionKey));
      if (!isClosed()) listeners.emit({ sessionKey, generation });
    })();
  }

  function startPolling(): void {
    if (poller) return;
    poller = setInterval(() => {
      for (const sessionKey of listeners.keys()) {
        void stat(fileOf(sessionKey)).then(
          (s) => `${s.ino}:${s.mtimeMs}:${s.size}`,
          () => 'missing',
        ).then((signature) => {
          const before = signatures.get(sessionKey);
          signatures.set(sessionKey, signature);
          if (before !== undefined && before !== signature) changed(sessionKey);
        });
      }
    }, pollIntervalMs);
    poller.unref();
  }

  function start(): void {
    if (watcher || poller) return;
    if (watchFn) {
      try {
        watcher = watchFn(directory, { persistent: false }, (_event, name) => {
          const sessionKey = name === null ? undefined : keyOfName.get(name.toString());
          if (sessionKey !== undefined) changed(sessionKey);
        });
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
          startPolling();
        });
        return;
      } catch {
        watcher = undefined; // no inotify here, or the directory does not exist yet: poll
      }
    }
    startPolling();
  }

  function stop(): void {
    watcher?.close();
    watcher = undefined;
    if (poller) clearInterval(poller);
    poller = undefined;
  }

  return {
    port: {
      announce() {},
      listen(sessionKey, listener) {
        keyOfName.set(basename(fileOf(sessionKey)), sessionKey);
        const stopListening = listeners.listen(sessionKey, listener);
        void mkdir(directory, { recursive: true, mode: 0o700 }).catch(() => {}).then(() => {
          if (!isClosed() && listeners.size > 0) start();
        });
        return stopListening;
      },
    },
    close: stop,
  };
}
