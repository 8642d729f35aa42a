import { resolve as resolvePath } from 'node:path';
import { createCoordinatorCore, type CoordinatorCore } from '../shared/coordinator.js';
import { createListenerSet } from '../shared/listeners.js';
import { hintOf, parseHint } from '../shared/messages.js';
import type { ChannelPort, LockPort } from '../shared/ports.js';
import { invalidOption } from '../shared/settings.js';
import { bearerSend, createAuthorizedFetch } from '../oauth/authorized-fetch.js';
import { checkProviderOptions, providerPorts, type ProviderOptions } from '../oauth/provider-options.js';
import type { SessionBackend as BackendPorts } from './backend.js';
import { createFileBackend as openFileBackend, type FileBackendOptions } from './file-backend.js';
import { createPostgresBackend as openPostgresBackend, type PostgresBackendOptions } from './postgres-backend.js';
import { createProcessLocks } from './process-locks.js';
import { createProcessRole } from './process-role.js';

export interface TokenCoordinatorOptions extends ProviderOptions {
  /** Where sessions are kept, for the processes of one machine: the file backend in this directory. Give this or `backend`. */
  readonly directory?: string;
  /** Where sessions are kept: `createPostgresBackend(...)` for server replicas, or a `createFileBackend(...)` you configured. */
  readonly backend?: SessionBackend;
}

/**
 * Where Node coordinators keep sessions and exclude each other across processes: made by
 * `createFileBackend` (one machine) or `createPostgresBackend` (server replicas). One serves
 * any number of coordinators and session keys; whoever created it closes it, after them.
 * Its lock, store and notices are the coordinator's own: a backend made any other way is
 * refused with INVALID_OPTIONS.
 */
export interface SessionBackend {
  /** Releases what the backend holds (file watchers and timers; PostgreSQL's LISTEN connection, never the pool). */
  close(): Promise<void>;
}

/** The file backend; see `createFileBackend`. */
export interface FileBackend extends SessionBackend {
  /** The file that holds `sessionKey`'s session: the one to move away when it is reported STORE_CORRUPT. */
  fileOf(sessionKey: string): string;
}

/**
 * Sessions in files, for the processes of one machine (CLI invocations, a desktop app's
 * main process beside its CLI); see docs/node.md. A file that does not read as a session
 * is reported as STORE_CORRUPT and never overwritten.
 * @throws INVALID_OPTIONS for invalid options
 */
export function createFileBackend(options: FileBackendOptions): FileBackend {
  return openFileBackend(options);
}

/**
 * Sessions in PostgreSQL, for server replicas: advisory locks, compare-and-set on a
 * generation column, LISTEN/NOTIFY hints (never a token); see docs/node.md. Create the
 * table first with `migratePostgres`.
 * @throws INVALID_OPTIONS for invalid options
 */
export function createPostgresBackend(options: PostgresBackendOptions): SessionBackend {
  return openPostgresBackend(options);
}

export interface TokenCoordinator extends CoordinatorCore {
  /**
   * `fetch` with `Authorization: Bearer <access token>`; on a 401 it takes a newer token (or refreshes once) and retries once.
   * @throws the codes of `getAccessToken`; TRANSIENT when the request itself fails (MISCONFIGURED for an unknown host),
   *   with its `url` and `phase`, ABORTED when its signal aborts,
   *   INVALID_OPTIONS for an invalid request (as rejections)
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
}

/** Per backend: the lock that queues this process's callers before they contend across processes. */
const processLocks = new WeakMap<BackendPorts, LockPort>();
/** Per backend and session key: the channel ports of this process, which tell each other at once. */
const processChannels = new WeakMap<BackendPorts, Map<string, Set<(data: unknown) => void>>>();
/** File backends opened through `directory`, shared by every coordinator of this process on that directory. */
const directoryBackends = new Map<string, { backend: BackendPorts; users: number }>();

function lockOf(backend: BackendPorts): LockPort {
  let lock = processLocks.get(backend);
  if (!lock) {
    lock = createProcessLocks(backend.lock);
    processLocks.set(backend, lock);
  }
  return lock;
}

/**
 * The coordinator's channel: other coordinators of this process hear a post at
 * once, other processes through the backend's notices. Only the hint crosses: a
 * session key and a generation, never a token. The backend's notice port checks
 * what arrives (`parseHint`); the core reads it as a hint message and re-reads the store.
 */
function openChannel(backend: BackendPorts, sessionKey: string): ChannelPort {
  let byKey = processChannels.get(backend);
  if (!byKey) {
    byKey = new Map();
    processChannels.set(backend, byKey);
  }
  const peers = byKey.get(sessionKey) ?? new Set();
  byKey.set(sessionKey, peers);
  const listeners = createListenerSet<unknown>();
  const deliver = listeners.emit;
  peers.add(deliver);
  const stopNotices = backend.notices.listen(sessionKey, (hint) => listeners.emit(hintOf(hint)));
  return {
    post(message) {
      const hint = parseHint(message, Date.now());
      if (hint === undefined) return;
      // Coordinators of this process get the announcement as posted (it may carry the access token: same memory);
      // other processes only the hint.
      for (const peer of peers) if (peer !== deliver) queueMicrotask(() => peers.has(peer) && peer(message));
      backend.notices.announce(hint);
    },
    subscribe: listeners.add,
    close() {
      stopNotices();
      listeners.clear();
      peers.delete(deliver);
      if (peers.size === 0) byKey.delete(sessionKey);
    },
  };
}

function useDirectory(directory: string): { backend: BackendPorts; release(): void } {
  const path = resolvePath(directory);
  let entry = directoryBackends.get(path);
  if (!entry) {
    entry = { backend: openFileBackend({ directory: path }), users: 0 };
    directoryBackends.set(path, entry);
  }
  entry.users++;
  const used = entry;
  let released = false;
  return {
    backend: used.backend,
    release() {
      if (released) return;
      released = true;
      if (--used.users > 0) return;
      directoryBackends.delete(path);
      void used.backend.close();
    },
  };
}

/**
 * One coordinator per provider account (session key) and caller; any number of
 * them, in any number of processes (and, on PostgreSQL, machines), refresh once
 * per expiry between them. Callers in one process for one key queue in the
 * process before one of them contends for the backend's lock.
 */
export function createTokenCoordinator(options: TokenCoordinatorOptions): TokenCoordinator {
  const checked = checkProviderOptions(options);
  const { settings, fetchImpl } = checked;
  if ((options.directory === undefined) === (options.backend === undefined)) throw invalidOption('give exactly one of directory and backend');
  if (options.directory !== undefined && (typeof options.directory !== 'string' || options.directory === '')) {
    throw invalidOption('directory must be a non-empty path');
  }
  const given: Partial<BackendPorts> | undefined = options.backend;
  if (given !== undefined && (typeof given !== 'object' || given === null || typeof given.store?.compareAndSet !== 'function')) {
    throw invalidOption('backend must come from createFileBackend or createPostgresBackend');
  }
  const owned = options.directory !== undefined ? useDirectory(options.directory) : undefined;
  const backend = owned?.backend ?? (given as BackendPorts);

  const lock = lockOf(backend);
  const core = createCoordinatorCore(settings, {
    lock,
    channel: openChannel(backend, settings.sessionKey),
    // One process per backend holds the auto refresh role, through the in-process queue of its lock.
    ...(settings.autoRefresh && { role: createProcessRole(lock) }),
    ...providerPorts(checked, backend.store),
  });

  return {
    ...core,
    close() {
      core.close();
      owned?.release();
    },
    fetch: createAuthorizedFetch(core, bearerSend(fetchImpl), fetchImpl),
  };
}

// What a Node program calls and names: the coordinator, its options and the types they name, events,
// errors, and the two backends. A backend's lock, store and notices stay inside the package.
export * from '../oauth/coordinator-api.js';
export type { FileBackendOptions } from './file-backend.js';
export { migratePostgres, type PostgresBackendOptions } from './postgres-backend.js';
