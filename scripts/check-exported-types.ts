/**
 * Fails when a public signature names a type its entry does not export: for each
 * entry of package.json "exports", it walks the emitted declarations (.d.ts) of
 * everything the entry exports, and of every type they name in turn, and lists
 * each type declared in this package that the entry leaves out. A user could
 * see such a type in an editor but not import it to annotate their own code.
 *
 *   tsx scripts/check-exported-types.ts [package directory]   (default: .)
 *
 * Run it on a built package (`npm run build`). Types of dependencies and of the
 * TypeScript libraries are not this package's to export.
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? '.');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; exports: Record<string, string | { types?: string }> };
const entries = Object.entries(manifest.exports).flatMap(([subpath, target]) =>
  typeof target === 'object' && target.types ? [{ subpath, file: join(root, target.types) }] : [],
);
if (entries.length === 0) throw new Error(`no entry with "types" in ${root}/package.json`);

const program = ts.createProgram(
  entries.map((entry) => entry.file),
  { noEmit: true, strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'], types: [] },
);
const checker = program.getTypeChecker();

const resolveAlias = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

/** In this package's own files (not a dependency's, not a TypeScript library's). */
function isOwn(declaration: ts.Declaration): boolean {
  const path = relative(root, declaration.getSourceFile().fileName);
  return !path.startsWith('..') && !path.split(sep).includes('node_modules');
}
const ownDeclarations = (symbol: ts.Symbol): ts.Declaration[] => (symbol.declarations ?? []).filter(isOwn);

/** Private and protected class members are not part of the public signature. */
function isPrivate(node: ts.Node): boolean {
  const name = (node as { name?: ts.Node }).name;
  if (name && ts.isPrivateIdentifier(name)) return true;
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword);
}

/** The leftmost name of `A.B.C`: the one an importer must be able to name. */
function leftmost(name: ts.EntityName | ts.Expression): ts.Node {
  if (ts.isQualifiedName(name)) return leftmost(name.left);
  if (ts.isPropertyAccessExpression(name)) return leftmost(name.expression);
  return name;
}

/** Symbols of the types and values that the declaration's signature names. */
function namedBy(declaration: ts.Node): ts.Symbol[] {
  const found: ts.Symbol[] = [];
  const add = (node: ts.Node): void => {
    const symbol = checker.getSymbolAtLocation(node);
    if (symbol) found.push(resolveAlias(symbol));
  };
  const visit = (node: ts.Node): void => {
    if (isPrivate(node)) return;
    if (ts.isTypeReferenceNode(node)) add(leftmost(node.typeName));
    else if (ts.isExpressionWithTypeArguments(node)) add(leftmost(node.expression));
    else if (ts.isTypeQueryNode(node)) add(leftmost(node.exprName));
    else if (ts.isImportTypeNode(node) && node.qualifier) {
      const type = checker.getTypeFromTypeNode(node);
      const symbol = type.aliasSymbol ?? type.getSymbol();
      if (symbol) found.push(symbol);
    }
    ts.forEachChild(node, visit);
  };
  visit(declaration);
  return found;
}

const reported = new Set<string>();
for (const { subpath, file } of entries) {
  const source = program.getSourceFile(file);
  const moduleSymbol = source && checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error(`${subpath}: cannot read ${file}`);
  const exported = new Set(checker.getExportsOfModule(moduleSymbol).map(resolveAlias));
  const seen = new Set<ts.Symbol>();
  const queue = [...exported].map((symbol) => ({ symbol, via: symbol.name }));
  while (queue.length > 0) {
    const { symbol, via } = queue.shift()!;
    if (seen.has(symbol)) continue;
    seen.add(symbol);
    for (const declaration of ownDeclarations(symbol)) {
      for (const named of namedBy(declaration)) {
        if (named === symbol || seen.has(named) || named.flags & ts.SymbolFlags.TypeParameter) continue;
        const [own] = ownDeclarations(named);
        if (!own) continue;
        const problem = `${manifest.name}${subpath.slice(1)}: ${named.name} (${relative(root, own.getSourceFile().fileName)}) is not exported`;
        if (!exported.has(named) && !reported.has(problem)) {
          reported.add(problem);
          console.error(`${problem}; ${via} names it`);
        }
        queue.push({ symbol: named, via: `${via} > ${named.name}` });
      }
    }
  }
}
if (reported.size > 0) process.exit(1);
console.log(`every type named by a public signature is exported (${entries.map((entry) => entry.subpath).join(', ')})`);
