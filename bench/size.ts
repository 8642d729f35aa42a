/**
 * What each entry of the package costs an app: every `exports` entry of package.json,
 * bundled from the built `dist` by vite (rolldown) as an app's bundler would, minified,
 * then gzipped. Twice: the package's own code (its dependencies left as imports, since
 * an app may share them) and with its dependencies. `tsx bench/size.ts` prints it alone;
 * `npm run bench` puts it in the report.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface EntrySize {
  /** The subpath, as an app imports it: `tokenherd`, `tokenherd/core`, ... */
  readonly entry: string;
  /** The file the entry resolves to, relative to the package root. */
  readonly file: string;
  /** Minified + gzip bytes of the package's own code; undefined when the entry could not be bundled. */
  readonly ownBytes?: number;
  /** Minified + gzip bytes with the dependencies bundled in. */
  readonly withDependenciesBytes?: number;
  /** Why there is no figure: the file is missing, or the bundler failed. */
  readonly problem?: string;
}

interface PackageJson {
  readonly name: string;
  readonly exports?: unknown;
}

/** The JavaScript file an export condition tree leads to, preferring what a browser bundler picks. */
function resolveTarget(target: unknown): string | undefined {
  if (typeof target === 'string') return /\.(c|m)?js$/.test(target) ? target : undefined;
  if (typeof target !== 'object' || target === null || Array.isArray(target)) return undefined;
  const conditions = target as Record<string, unknown>;
  for (const condition of ['browser', 'import', 'module', 'default', 'node']) {
    const file = resolveTarget(conditions[condition]);
    if (file !== undefined) return file;
  }
  return undefined;
}

/** The package's JavaScript entries: `[subpath, file]`, `./package.json` and type-only entries left out. */
export function packageEntries(pkg: PackageJson): Array<[string, string]> {
  const { exports } = pkg;
  const map = typeof exports === 'string' || (typeof exports === 'object' && exports !== null && !Object.keys(exports).some((key) => key.startsWith('.')))
    ? { '.': exports }
    : ((exports ?? {}) as Record<string, unknown>);
  return Object.entries(map).flatMap(([subpath, target]) => {
    const file = resolveTarget(target);
    return file === undefined ? [] : [[subpath === '.' ? pkg.name : `${pkg.name}/${subpath.replace(/^\.\//, '')}`, file] as [string, string]];
  });
}

async function bundledGzipBytes(file: string, bundleDependencies: boolean): Promise<number> {
  const output = await build({
    configFile: false,
    root: ROOT,
    logLevel: 'silent',
    build: {
      write: false,
      minify: true,
      target: 'es2022',
      lib: { entry: file, formats: ['es'], fileName: 'entry' },
      rolldownOptions: {
        // Vite's library mode keeps whitespace in ES output; an app's production build does not.
        output: { minify: true },
        // Node's built-ins never ship in a bundle; bare imports are the package's dependencies.
        external: (id) => isBuiltin(id) || (!bundleDependencies && !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0')),
      },
    },
  });
  const results = Array.isArray(output) ? output : [output];
  let bytes = 0;
  for (const result of results) {
    if (!('output' in result)) throw new Error('the bundler returned a watcher, not a bundle');
    for (const chunk of result.output) {
      if (chunk.type === 'chunk') bytes += gzipSync(chunk.code, { level: 9 }).length;
    }
  }
  return bytes;
}

/**
 * Runs the package's own `npm run build` (what `npm pack` ships), then measures every entry.
 * An entry whose file is missing, or that fails to bundle, gets a `problem` instead of figures.
 */
export async function measureEntrySizes({ runBuild = true }: { runBuild?: boolean } = {}): Promise<EntrySize[]> {
  const pkg = JSON.parse(readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as PackageJson;
  const entries = packageEntries(pkg);
  if (runBuild) {
    try {
      await promisify(execFile)('npm', ['run', '--silent', 'build'], { cwd: ROOT });
    } catch (error) {
      // A stale dist would give wrong figures: none rather than those.
      const problem = `npm run build failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      return entries.map(([entry, file]) => ({ entry, file, problem }));
    }
  }
  const sizes: EntrySize[] = [];
  for (const [entry, file] of entries) {
    const path = fileURLToPath(new URL(file, `file://${ROOT}`));
    if (!existsSync(path)) {
      sizes.push({ entry, file, problem: 'not built: the file does not exist' });
      continue;
    }
    try {
      sizes.push({ entry, file, ownBytes: await bundledGzipBytes(path, false), withDependenciesBytes: await bundledGzipBytes(path, true) });
    } catch (error) {
      sizes.push({ entry, file, problem: `bundling failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` });
    }
  }
  return sizes;
}

const kb = (bytes: number | undefined): string => (bytes === undefined ? '–' : `${(bytes / 1024).toFixed(1)} KB (${bytes} B)`);

export function sizeRows(sizes: readonly EntrySize[]): string[][] {
  return sizes.map((size) => [size.entry, size.file, kb(size.ownBytes), kb(size.withDependenciesBytes), size.problem ?? '']);
}

export const SIZE_HEADER = ['entry', 'file', 'own code, minified + gzip', 'with dependencies, minified + gzip', 'problem'];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await measureEntrySizes({ runBuild: !process.argv.includes('--no-build') });
  for (const [entry, file, own, all, problem] of sizeRows(sizes)) console.log(`${entry}  ${file}  own ${own}  with dependencies ${all}${problem ? `  ${problem}` : ''}`);
}
