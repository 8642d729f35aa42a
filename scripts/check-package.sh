#!/usr/bin/env bash
# Checks the package as npm would publish it, not the source tree:
#   1. `npm pack` (its prepack runs `npm run build` from an empty dist);
#   2. publint on the tarball: package.json fields, exports map, files that exist;
#   3. arethetypeswrong on the tarball: each entry resolves to types that match its JS;
#   4. every type a public signature names is exported from its entry, and the
#      README's API section lists every name each entry exports, once;
#   5. a temporary project installs the tarball and type-checks the type-level API
#      tests (tokenherd/node's included) and the quick start against it (no `paths`:
#      the published .d.ts only), without pg or @types/pg installed, then imports
#      every entry in Node;
#   6. vite bundles the quick start from the installed tarball: no DPoP or sealing
#      code in it (they are opt-ins), and its size gzipped is printed.
# A broken export map, a missing file or an unexported type fails here.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(echo "$work"/tokenherd-*.tgz)
echo "packed $(basename "$tarball"): $(tar -tzf "$tarball" | wc -l) files, $(wc -c <"$tarball") bytes"

# --strict: publint's warnings (e.g. a file an export points to that is not shipped) fail too.
npx --no-install publint run "$tarball" --strict
# esm-only: the package is ESM ("type": "module", no "require" condition), as is
# every supported consumer (bundlers, Node >= 20.19, TypeScript with
# node16/nodenext/bundler resolution). The profile ignores the two resolutions an
# ESM-only package cannot serve by design: node10 (no "exports" support) and a
# CommonJS `require` under node16. Every other problem fails.
npx --no-install attw "$tarball" --profile esm-only

consumer=$work/consumer
mkdir -p "$consumer"
cp test/types/public-api.ts test/types/node-api.ts examples/quick-start.ts "$consumer/"
cat >"$consumer/package.json" <<'EOF'
{ "name": "tokenherd-consumer", "private": true, "type": "module" }
EOF
# The consumer's settings are as strict as the repo's, and it checks the shipped
# declarations themselves (no skipLibCheck).
cat >"$consumer/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2022", "DOM", "DOM.Iterable"],
    "types": [],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "exactOptionalPropertyTypes": true,
    "verbatimModuleSyntax": true,
    "skipLibCheck": false,
    "noEmit": true
  },
  "include": ["*.ts"]
}
EOF
# The dependencies come from the cache `npm ci` filled; the registry only if it lacks them.
(cd "$consumer" && npm install --silent --no-audit --no-fund --prefer-offline --ignore-scripts "$tarball")
# pg is an optional peer dependency: a TypeScript user of tokenherd/node (the file
# backend, or pg without its types) must compile without @types/pg (TS7016 otherwise).
for absent in pg @types/pg; do
  if [ -e "$consumer/node_modules/$absent" ]; then echo "the consumer must not have $absent installed" >&2; exit 1; fi
done
"$repo/node_modules/.bin/tsc" -p "$consumer"
# Bundlers resolve like this: the same test under "bundler" resolution.
"$repo/node_modules/.bin/tsc" -p "$consumer" --module preserve --moduleResolution bundler
echo "type-level API tests (tokenherd/node without @types/pg) and quick start compile against the packed package (nodenext, bundler)"

npx --no-install tsx scripts/check-exported-types.ts "$consumer/node_modules/tokenherd"
npx --no-install tsx scripts/public-names.ts "$consumer/node_modules/tokenherd" --readme README.md

# Every entry of the exports map loads in Node from the installed package.
(cd "$consumer" && node --input-type=module -e "
import { readFileSync } from 'node:fs';
const { exports } = JSON.parse(readFileSync('node_modules/tokenherd/package.json', 'utf8'));
for (const subpath of Object.keys(exports).filter((key) => !key.endsWith('.json'))) {
  const entry = 'tokenherd' + subpath.slice(1);
  const names = Object.keys(await import(entry));
  if (names.length === 0) throw new Error(entry + ' exports nothing');
  console.log(entry + ': ' + names.length + ' runtime exports');
}")

# Pay for what you use: an app that uses neither DPoP nor sealing bundles neither.
npx --no-install tsx scripts/quick-start-bundle.ts "$consumer"
