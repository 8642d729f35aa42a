/**
 * Type-level test of `tokenherd/node`, as public-api.ts is of the other entries:
 * `tsc -p test/types` fails if a name, signature or the set of runtime exports
 * changes, or if a name removed from the surface (CHANGELOG.md) is exported again.
 * It imports nothing from `pg`: scripts/check-package.sh compiles it against the
 * packed package without `@types/pg` (that a `pg.Pool` fits the backend's `pool` is
 * checked wherever the repo passes one: e2e/node, examples/node-server).
 */
import {
  createFileBackend,
  createPostgresBackend,
  createTokenCoordinator,
  isTokenHerdError,
  migratePostgres,
  type ErrorCode,
  type FileBackend,
  type PostgresBackendOptions,
  type SessionBackend,
  type TokenCoordinator,
  type TokenCoordinatorOptions,
} from 'tokenherd/node';
import type * as Node from 'tokenherd/node';

type Equal<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

export type Checks = [
  Expect<
    Equal<keyof typeof Node, 'createTokenCoordinator' | 'createFileBackend' | 'createPostgresBackend' | 'migratePostgres' | 'sealWith' | 'ErrorCode' | 'TokenHerdError' | 'isTokenHerdError'>
  >,
  // A backend is opaque: its user only closes it (and, for files, finds a session's file).
  Expect<Equal<keyof SessionBackend, 'close'>>,
  Expect<Equal<keyof FileBackend, 'close' | 'fileOf'>>,
  Expect<Equal<TokenCoordinatorOptions['backend'], SessionBackend | undefined>>,
  Expect<Equal<TokenCoordinatorOptions['directory'], string | undefined>>,
  Expect<Equal<Parameters<TokenCoordinator['fetch']>, [input: string | URL | Request, init?: RequestInit | undefined]>>,
  Expect<Equal<ReturnType<TokenCoordinator['getAccessToken']>, Promise<string>>>,
  Expect<Equal<ReturnType<typeof migratePostgres>, Promise<void>>>,
  // The pool is typed by what the backend calls, so the declarations need no `@types/pg`.
  Expect<Equal<keyof PostgresBackendOptions['pool'], 'query' | 'connect'>>,
];

// Types removed from the surface (CHANGELOG.md): each line stops compiling if its name is exported again.
export type Removed = [
  // @ts-expect-error a backend's lock, store and notices are the coordinator's own
  Node.NoticePort,
  // @ts-expect-error removed, as above
  Node.SessionHint,
  // @ts-expect-error removed, as above
  Node.LockPort,
  // @ts-expect-error removed, as above
  Node.SessionStore,
  // @ts-expect-error removed, as above
  Node.CompareAndSetResult,
  // @ts-expect-error removed, as above
  Node.StoredSession,
  // @ts-expect-error removed, as above
  Node.TokenSet,
  // @ts-expect-error removed, as above
  Node.RefreshInFlight,
];

// Server replicas: one table, one backend per process, closed after the coordinators that use it.
export async function replica(pool: PostgresBackendOptions['pool']): Promise<string | ErrorCode> {
  await migratePostgres(pool);
  const backend = createPostgresBackend({ pool });
  const coordinator = createTokenCoordinator({ sessionKey: 'acme', issuer: 'https://issuer.example', client: { client_id: 'svc' }, backend });
  try {
    return await coordinator.getAccessToken();
  } catch (error) {
    if (isTokenHerdError(error)) return error.code;
    throw error;
  } finally {
    coordinator.close();
    await backend.close();
  }
}

// A CLI: the file backend of a directory, and where a session's file is when it is reported STORE_CORRUPT.
export function corruptFile(directory: string): string {
  const backend = createFileBackend({ directory });
  void backend.close();
  return backend.fileOf('acme');
}

// migratePostgres only queries: any object with pg's `query` will do.
export const migrateWith = (query: (text: string) => Promise<{ rows: unknown[] }>): Promise<void> => migratePostgres({ query });

// Required options are required.
// @ts-expect-error client is missing
createTokenCoordinator({ sessionKey: 'k', issuer: 'https://issuer.example', directory: '/tmp/sessions' });
