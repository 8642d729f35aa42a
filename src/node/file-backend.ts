import { createHash, randomBytes } from 'node:crypto';
import { watch } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { sleep, type AbortSignalLike } from '../shared/abort.js';
import { systemClock } from '../oauth/provider-options.js';
import { ErrorCode, TokenHerdError } from '../shared/errors.js';
import type { CompareAndSetResult, LockPort, SessionStore } from '../shared/ports.js';
import { isStoredSession, isVersion, type StoredSession } from '../shared/session.js';
import { invalidOption, numberOption } from '../shared/settings.js';
import { transient, type SessionBackend } from './backend.js';
import { createFileNotices, createWriteTracker } from './file-notices.js';

/** Options of `createFileBackend`: the directory of the session files, and how stale locks and changes are found. */
export interface FileBackendOptions {
  /** Holds one `<hash>.json` per session key (mode 0600), and the lock directories. Created with mode 0700 if missing. */
  readonly directory: string;
  /**
   * A lock whose holder stopped refreshing its mtime this long ago (the process was
   * killed) is taken over. The holder refreshes it every half of this. Default 10 000, minimum 2 000.
   */
  readonly staleLockMs?: number;
  /** Interval of the polling that replaces `fs.watch` where that is unavailable. Default 1 000, 50..60 000. */
  readonly pollIntervalMs?: number;
  /** Forces polling instead of `fs.watch` (network file systems, where watching sees no other machine's writes). */
  readonly poll?: boolean;
}

/** The file backend: one session file a key in one directory, each replaced whole, so a reader never sees part of a record. */
export interface FileBackend extends SessionBackend {
  /** The file that holds `sessionKey`'s session. */
  fileOf(sessionKey: string): string;
}

/** Longest wait for the short write lock of one compare-and-set before it fails with TRANSIENT. */
const WRITE_LOCK_TIMEOUT_MS = 10_000;
/** Between two attempts at a held lock: short, with jitter, so waiters do not retry in step. */
const LOCK_RETRY_MS = 15;

function hashName(name: string): string {
  return createHash('sha256').update(name).digest('hex').slice(0, 32);
}

/**
 * Sessions in files, for processes of one machine (CLI invocations, a desktop
 * app's main process beside its CLI). Cross-process exclusion is `proper-lockfile`
 * (an atomic `mkdir`, with stale-lock takeover when a holder dies); a write goes to
 * a temporary file that is fsynced and renamed over the old one, and the directory
 * fsynced, so a reader sees the old or the new record, never a part. A file that
 * does not parse as a session is reported as STORE_CORRUPT and never overwritten.
 */
export function createFileBackend(options: FileBackendOptions): FileBackend {
  if (typeof options !== 'object' || options === null) throw invalidOption('file backend options must be an object');
  const { directory } = options;
  if (typeof directory !== 'string' || directory === '') throw invalidOption('directory must be a non-empty path');
  const staleLockMs = numberOption('staleLockMs', options.staleLockMs, 10_000, 2_000, 600_000);
  const pollIntervalMs = numberOption('pollIntervalMs', options.pollIntervalMs, 1_000, 50, 60_000);
  let ready: Promise<unknown> | undefined;
  let closed = false;
  const writes = createWriteTracker();

  const ensureDirectory = (): Promise<unknown> => (ready ??= mkdir(directory, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    ready = undefined;
    throw transient(`Could not create ${directory}`, error);
  }));
  const fileOf = (sessionKey: string): string => join(directory, `${hashName(sessionKey)}.json`);

  /**
   * Takes the lock named by `target` (a path; the lock is the directory `<target>.lock`),
   * polling while another process holds it, until `signal` aborts or `deadline` passes.
   */
  async function acquire(target: string, signal: AbortSignalLike | undefined, deadline: number): Promise<() => Promise<void>> {
    await ensureDirectory();
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      try {
        return await lockfile.lock(target, {
          realpath: false,
          stale: staleLockMs,
          // The default throws from a timer, which would crash the process; compare-and-set keeps a
          // holder whose lock was taken over from writing over a newer generation anyway.
          onCompromised: () => {},
        });
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'ELOCKED') throw transient(`Could not lock ${target}`, error);
      }
      if (Date.now() >= deadline) throw new TokenHerdError(ErrorCode.TRANSIENT, `The lock ${target} stayed held for ${WRITE_LOCK_TIMEOUT_MS} ms`);
      await sleep(systemClock, LOCK_RETRY_MS + Math.random() * LOCK_RETRY_MS, signal);
    }
  }

  async function withRelease<T>(release: () => Promise<void>, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } finally {
      await release().catch(() => {}); // already released or taken over as stale: nothing left to undo
    }
  }

  /** The stored record; STORE_CORRUPT when the file holds anything but a session of this key. */
  async function readRecord(sessionKey: string): Promise<StoredSession | undefined> {
    const file = fileOf(sessionKey);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
      throw transient(`Could not read ${file}`, error);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw corrupt(file, text.length === 0 ? 'it is empty' : 'it is not JSON (truncated or overwritten)');
    }
    if (!isStoredSession(value)) throw corrupt(file, 'it does not hold a valid session record');
    if (value.sessionKey !== sessionKey) throw corrupt(file, `it holds the session key ${JSON.stringify(value.sessionKey)}`);
    return value;
  }

  /** Temporary file, fsync, rename over the old file, fsync the directory: all or nothing, and durable. */
  async function replace(file: string, record: StoredSession): Promise<void> {
    const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(record)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
    } catch (error) {
      await unlink(temporary).catch(() => {});
      throw transient(`Could not write ${file}`, error);
    }
    const dir = await open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  const store: SessionStore = {
    read: (sessionKey) => readRecord(sessionKey),
    compareAndSet: (sessionKey, expected, next) =>
      writes.around(sessionKey, async (): Promise<CompareAndSetResult> => {
        const file = fileOf(sessionKey);
        const release = await acquire(`${file}.write`, undefined, Date.now() + WRITE_LOCK_TIMEOUT_MS);
        return withRelease(release, async () => {
          const current = await readRecord(sessionKey); // a corrupt file throws here: it is never overwritten
          if (!isVersion(current, expected)) return { ok: false, current };
          await replace(file, next);
          return { ok: true };
        });
      }),
    close() {},
  };

  const lock: LockPort = {
    async request(name, { signal }, callback) {
      const release = await acquire(join(directory, `${hashName(name)}.refresh`), signal, Number.POSITIVE_INFINITY);
      return withRelease(release, callback);
    },
  };

  const notices = createFileNotices(directory, fileOf, readRecord, writes, options.poll === true ? undefined : watch, pollIntervalMs, () => closed);

  return {
    lock,
    store,
    notices: notices.port,
    fileOf,
    async close() {
      closed = true;
      notices.close();
    },
  };
}

function corrupt(file: string, reason: string): TokenHerdError {
  return new TokenHerdError(
    ErrorCode.STORE_CORRUPT,
    `The session file ${file} cannot be read: ${reason}. It is left as it is; move it away or delete it, then sign in again`,
  );
}
