import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const runtimeModules = ['node:*', 'electron', 'idb', 'oauth4webapi', 'fs', 'path', 'os'];

export default tseslint.config(
  { ignores: ['dist/**', 'e2e/.harness/**', 'bench/out/**', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.property.name='only']", message: 'No focused tests.' },
      ],
    },
  },
  {
    // Playwright fixtures name their dependencies by destructuring; a fixture without any uses `{}`.
    files: ['e2e/**/*.ts', 'bench/**/*.ts', '**/*.test.ts'],
    rules: { 'no-empty-pattern': 'off' },
  },
  {
    // The core and its in-memory doubles run anywhere: no DOM, Node or Electron.
    files: ['src/shared/**/*.ts', 'src/testing/**/*.ts'],
    ignores: ['src/shared/**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'indexedDB', 'localStorage', 'BroadcastChannel', 'fetch', 'process', 'require'],
      'no-restricted-imports': ['error', { patterns: [...runtimeModules, '../*', '!../shared'] }],
    },
  },
  {
    // The core is the bottom layer: it imports no other folder of src.
    files: ['src/shared/**/*.ts'],
    ignores: ['src/shared/**/*.test.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [...runtimeModules, '../*'] }] },
  },
  // The layers, bottom up: src/shared (the core), src/oauth (runtime-neutral OAuth), then the
  // runtime entries src/renderer (browser), src/node and src/desktop, then the Electron shell
  // (src/main, src/preload). An import never points up a layer or into a sibling runtime.
  ...layer('src/oauth/**/*.ts', ['renderer', 'node', 'desktop', 'main', 'preload', 'testing']),
  ...layer('src/node/**/*.ts', ['renderer', 'desktop', 'main', 'preload']),
  ...layer('src/desktop/**/*.ts', ['renderer', 'node', 'main', 'preload']),
  ...layer('src/renderer/**/*.ts', ['node', 'desktop', 'main', 'preload']),
  ...layer('src/main/**/*.ts', ['renderer', 'node', 'preload']),
  ...layer('src/preload/**/*.ts', ['renderer', 'node', 'main']),
);

/** Forbids production files matching `files` to import the sibling folders of src named in `forbidden`. */
function layer(files, forbidden) {
  return [
    {
      files: [files],
      ignores: ['src/**/*.test.ts'],
      rules: { 'no-restricted-imports': ['error', { patterns: forbidden.map((folder) => ({ group: [`../${folder}/*`], message: `src/${folder} is not below this layer.` })) }] },
    },
  ];
}
