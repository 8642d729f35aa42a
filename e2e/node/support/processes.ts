/** Child processes of the Node tests: each runs worker.ts under tsx and answers over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallResult, ToParent, ToWorker, WorkerConfig } from './protocol.js';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

export interface BurstResult {
  readonly results: CallResult[];
  readonly refreshRequests: number;
  readonly expiresAt: number;
}

export interface WorkerProcess {
  readonly pid: number;
  /** `callers` concurrent getAccessToken calls started at wall-clock `at`. */
  burst(callers: number, at: number): Promise<BurstResult>;
  /** Resolves with the next `refresh-started` event of this process. */
  nextRefreshStarted(): Promise<void>;
  /** Whether a coordinator of this process holds the auto refresh role (as last reported). */
  holdsRole(): boolean;
  /** SIGKILL: no cleanup runs in the child, as when a machine or container dies. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Runs `script` under tsx in a child process, with `config` as JSON in the environment
 * variable `variable`, its output on ours and an IPC channel; `exited` resolves when it ends.
 */
export function forkTsx(script: string, variable: string, config: unknown): { child: ChildProcess; exited: Promise<void> } {
  const child = fork(script, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, [variable]: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return { child, exited: new Promise((resolve) => child.once('exit', () => resolve())) };
}

function startWorker(config: WorkerConfig): Promise<WorkerProcess> {
  const { child, exited } = forkTsx(WORKER, 'TOKENHERD_WORKER', config);
  const bursts = new Map<number, (result: BurstResult) => void>();
  const refreshWaiters: Array<() => void> = [];
  let nextId = 1;
  let holdsRole = false;
  child.on('message', (message: ToParent) => {
    if (message.type === 'role') holdsRole = message.held;
    if (message.type === 'burst-done') bursts.get(message.id)?.(message);
    else if (message.type === 'refresh-started') for (const resolve of refreshWaiters.splice(0)) resolve();
  });
  const post = (message: ToWorker): void => void child.send(message);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    void exited.then(() => reject(new Error('worker exited before it was ready')));
    child.on('message', (message: ToParent) => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      resolve({
        pid: message.pid,
        burst(callers, at) {
          const id = nextId++;
          return new Promise<BurstResult>((done, fail) => {
            bursts.set(id, done);
            void exited.then(() => fail(new Error(`worker ${message.pid} exited during a burst`)));
            post({ type: 'burst', id, callers, at });
          });
        },
        nextRefreshStarted: () => new Promise((done) => refreshWaiters.push(done)),
        holdsRole: () => holdsRole,
        async kill() {
          child.kill('SIGKILL');
          await exited;
        },
        async close() {
          if (child.exitCode === null && child.signalCode === null) post({ type: 'close' });
          await exited;
        },
      });
    });
  });
}

export function startWorkers(count: number, config: WorkerConfig): Promise<WorkerProcess[]> {
  return Promise.all(Array.from({ length: count }, () => startWorker(config)));
}

/** A burst in every worker at one instant, far enough ahead for the message to arrive everywhere. */
export async function burstAll(workers: readonly WorkerProcess[], callers: number, at = Date.now() + 150): Promise<BurstResult[]> {
  return Promise.all(workers.map((worker) => worker.burst(callers, at)));
}

/** Resolves at wall-clock time `at`: a token's stale time is a condition on the clock, not a guess. */
export function untilTime(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
