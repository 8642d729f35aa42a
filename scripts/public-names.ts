/**
 * Counts and lists the names each entry of package.json "exports" exports, read
 * from the emitted declarations (.d.ts) with the TypeScript compiler, the way a
 * user's editor sees them (a name that is both a value and a type counts once).
 *
 *   tsx scripts/public-names.ts [package directory] [--list] [--readme README.md]
 *
 * --list     prints each entry's names.
 * --readme   fails unless the README's API section lists every exported name of
 *            every entry exactly once: under a `#### \`<entry>\`` heading, table rows
 *            whose first cell holds names in backticks (one, or several with commas).
 *
 * Run it on a built package (`npm run build`).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
const readmeAt = args.indexOf('--readme');
const readmePath = readmeAt >= 0 ? args[readmeAt + 1] : undefined;
if (readmeAt >= 0 && readmePath === undefined) throw new Error('--readme needs a file');
const positional = args.filter((arg, index) => !arg.startsWith('--') && index !== readmeAt + 1);
const root = resolve(positional[0] ?? '.');

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { types?: string }> };
const entries = Object.entries(manifest.exports).flatMap(([subpath, target]) =>
  typeof target === 'object' && target.types ? [{ name: manifest.name + subpath.slice(1), file: join(root, target.types) }] : [],
);
if (entries.length === 0) throw new Error(`no entry with "types" in ${root}/package.json`);

const program = ts.createProgram(
  entries.map((entry) => entry.file),
  { noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] },
);
const checker = program.getTypeChecker();

/** Entry name -> its exported names, sorted. */
const exported = new Map<string, string[]>();
for (const { name, file } of entries) {
  const source = program.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${name}: cannot read ${file}`);
  exported.set(name, checker.getExportsOfModule(moduleSymbol).map((symbol) => symbol.name).sort());
}

const distinct = new Set([...exported.values()].flat());
for (const [name, names] of exported) {
  console.log(`${name}: ${names.length}`);
  if (args.includes('--list')) console.log(`  ${names.join(', ')}`);
}
console.log(`total: ${[...exported.values()].reduce((sum, names) => sum + names.length, 0)} exports, ${distinct.size} distinct names`);

if (readmePath !== undefined) {
  const problems = readmeProblems(readFileSync(readmePath, 'utf8'));
  for (const problem of problems) console.error(`${readmePath}: ${problem}`);
  if (problems.length > 0) process.exit(1);
  console.log(`${readmePath} lists every exported name of every entry once`);
}

/** What the README's API section gets wrong about the exported names. */
function readmeProblems(readme: string): string[] {
  const start = readme.search(/^## API$/m);
  if (start < 0) return ['no "## API" section'];
  const end = readme.slice(start + 1).search(/^## /m);
  const api = readme.slice(start, end < 0 ? undefined : start + 1 + end);
  const listed = new Map<string, string[]>();
  let entry: string | undefined;
  for (const line of api.split('\n')) {
    const heading = /^#{1,6} /.test(line) ? /^#### `([^`]+)`$/.exec(line) : undefined;
    if (heading !== undefined) entry = heading?.[1];
    const cell = entry !== undefined ? /^\| (`[A-Za-z_$][\w$]*`(?:, `[A-Za-z_$][\w$]*`)*) \|/.exec(line) : null;
    if (entry !== undefined && cell) listed.set(entry, [...(listed.get(entry) ?? []), ...cell[1]!.split(', ').map((name) => name.slice(1, -1))]);
  }
  const problems: string[] = [];
  for (const [name, names] of exported) {
    const rows = listed.get(name) ?? [];
    const seen = new Set<string>();
    for (const row of rows) {
      if (seen.has(row)) problems.push(`${name}: ${row} is listed more than once`);
      seen.add(row);
      if (!names.includes(row)) problems.push(`${name}: ${row} is listed but not exported`);
    }
    for (const missing of names.filter((n) => !seen.has(n))) problems.push(`${name}: ${missing} is exported but not listed`);
  }
  for (const name of listed.keys()) if (!exported.has(name)) problems.push(`#### \`${name}\` is not an entry of ${manifest.name}`);
  return problems;
}
