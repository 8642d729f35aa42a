/**
 * A private PostgreSQL cluster for tests and examples: `initdb` in a temporary
 * directory, `pg_ctl` on a free port of 127.0.0.1 (and a socket in that directory),
 * trust authentication (but for the role `PASSWORD_ROLE`, which must give its password),
 * stopped and deleted by `stop()`. Needs the server binaries (Debian's `postgresql`;
 * `bash scripts/install-postgres.sh`). PostgreSQL refuses to
 * run as root, so as root the cluster runs as the `postgres` OS user.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The one role that must give its password (scram-sha-256), for tests of wrong credentials;
 * a test creates it (`CREATE ROLE ... LOGIN PASSWORD ...`). Every other role is trusted.
 */
export const PASSWORD_ROLE = 'tokenherd_password';

export interface PostgresCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dataDirectory: string;
  /** Stops the server, ending every connection (`pg_ctl stop -m fast`); the data stays. */
  stopServer(): Promise<void>;
  /** Starts it again on the same port. */
  startServer(): Promise<void>;
  /** Stops the server and deletes its directory. */
  stop(): Promise<void>;
}

/** The directory of `initdb` and `pg_ctl`: `PG_BIN`, else the newest /usr/lib/postgresql/N/bin, else PATH. */
export function postgresBinDirectory(): string | undefined {
  if (process.env['PG_BIN']) return process.env['PG_BIN'];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'pg_ctl')));
    const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
    if (newest) return join(root, newest, 'bin');
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = postgresBinDirectory();
  const tool = (name: string): string => (bin ? join(bin, name) : name);
  const asRoot = process.getuid?.() === 0;
  // As root: run as `postgres`, which must own the directory.
  const exec = (file: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
  const root = await mkdtemp(join(tmpdir(), 'tokenherd-pg-'));
  const dataDirectory = join(root, 'data');
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    await chown(root, Number(stdout.trim()), Number(group.trim()));
  }
  try {
    await exec(tool('initdb'), ['-D', dataDirectory, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw new Error(`initdb failed (is PostgreSQL installed? bash scripts/install-postgres.sh): ${(error as Error).message}`, { cause: error });
  }
  // The first matching line of pg_hba.conf wins: this one before initdb's trust lines.
  const hba = join(dataDirectory, 'pg_hba.conf');
  await writeFile(hba, `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`);
  const port = await freePort();
  const settings = [
    `-c listen_addresses=127.0.0.1`,
    `-c port=${port}`,
    `-c unix_socket_directories=${root}`,
    // A test cluster: durability off for speed; the tests kill clients, never this server's host.
    `-c fsync=off`,
    `-c synchronous_commit=off`,
    `-c full_page_writes=off`,
    `-c max_connections=200`,
  ].join(' ');
  const startServer = async (): Promise<void> => {
    await exec(tool('pg_ctl'), ['-D', dataDirectory, '-l', join(root, 'server.log'), '-o', settings, '-w', '-t', '60', 'start']);
  };
  const stopServer = async (): Promise<void> => {
    await exec(tool('pg_ctl'), ['-D', dataDirectory, '-m', 'fast', '-w', '-t', '60', 'stop']);
  };
  await startServer();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDirectory,
    startServer,
    stopServer,
    async stop() {
      await stopServer().catch(() => {}); // already stopped
      await rm(root, { recursive: true, force: true });
    },
  };
}
