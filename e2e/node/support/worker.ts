/**
 * One process of a multi-process test: a server replica (PostgreSQL backend) or a
 * CLI process (file backend), with `coordinators` coordinators of one session key.
 * Driven by its parent over IPC (see processes.ts); reports what its callers got.
 */
import pg from 'pg';
import { createFileBackend, createPostgresBackend, createTokenCoordinator, type SessionBackend } from '../../../src/node/index.js';
import type { ToParent, ToWorker, WorkerConfig } from './protocol.js';

const config = JSON.parse(process.env['TOKENHERD_WORKER'] ?? '') as WorkerConfig;
const send = (message: ToParent): void => void process.send?.(message);

let pool: pg.Pool | undefined;
let backend: SessionBackend;
if (config.backend.kind === 'postgres') {
  pool = new pg.Pool({ connectionString: config.backend.url, max: 8 });
  // An idle connection lost (the server restarted) is reported here; the next query reconnects.
  pool.on('error', () => {});
  backend = createPostgresBackend({ pool });
} else {
  // Short, so the SIGKILL test is quick; long enough that a loaded machine's event loop refreshes a live lock in time.
  backend = createFileBackend({ directory: config.backend.directory, staleLockMs: 4_000 });
}

const coordinators = Array.from({ length: config.coordinators }, () =>
  createTokenCoordinator({
    sessionKey: config.sessionKey,
    issuer: config.issuer,
    tokenEndpoint: config.tokenEndpoint,
    client: { client_id: config.clientId },
    allowInsecureRequests: true,
    backend,
    refreshLeewaySeconds: config.refreshLeewaySeconds,
    autoRefresh: config.autoRefresh ?? false,
    ...(config.profile !== undefined && { profile: config.profile }),
    ...(config.requestTimeoutMs !== undefined && { requestTimeoutMs: config.requestTimeoutMs }),
    retry: { attempts: 2, baseDelayMs: 50 },
  }),
);
for (const coordinator of coordinators) {
  coordinator.subscribe((event) => {
    if (event.type === 'refresh-started') send({ type: 'refresh-started', pid: process.pid });
  });
}

async function burst(callers: number): Promise<Extract<ToParent, { type: 'burst-done' }>['results']> {
  const settled = await Promise.allSettled(Array.from({ length: callers }, (_, i) => coordinators[i % coordinators.length]!.getAccessToken()));
  return settled.map((result) =>
    result.status === 'fulfilled'
      ? { ok: true, token: result.value }
      : { ok: false, code: String((result.reason as { code?: unknown }).code), message: String((result.reason as Error).message) },
  );
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'burst') {
    // Every process starts its callers at the same wall-clock instant.
    setTimeout(() => {
      void burst(message.callers).then((results) => {
        const states = coordinators.map((c) => c.getState());
        send({
          type: 'burst-done',
          id: message.id,
          results,
          refreshRequests: states.reduce((n, s) => n + s.refreshRequests, 0),
          expiresAt: Math.max(...states.map((s) => s.expiresAt ?? 0)),
        });
      });
    }, Math.max(0, message.at - Date.now()));
  } else if (message.type === 'close') {
    for (const coordinator of coordinators) coordinator.close();
    void backend
      .close()
      .then(() => pool?.end())
      .finally(() => process.exit(0));
  }
});

// Whether a coordinator of this process holds the auto refresh role, on each change.
let holdsRole = false;
setInterval(() => {
  const held = coordinators.some((c) => c.getState().holdsRole);
  if (held !== holdsRole) send({ type: 'role', pid: process.pid, held: (holdsRole = held) });
}, 20).unref();

// A store that cannot be read (a corrupt file) is reported by each call, not at start.
void Promise.all(coordinators.map((c) => c.reload().catch(() => undefined))).then(() => send({ type: 'ready', pid: process.pid }));
