import js from '@eslint/js';
import tseslint from 'typescript-eslint';

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
    files: ['e2e/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-empty-pattern': 'off' },
  },
  {
    // The core and its in-memory doubles run anywhere: no DOM, Node or Electron.
    files: ['src/shared/**/*.ts', 'src/testing/**/*.ts'],
    ignores: ['src/shared/**/*.test.ts'],
    rules: {
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'indexedDB', 'localStorage', 'BroadcastChannel', 'fetch', 'process', 'require'],
      'no-restricted-imports': ['error', { patterns: ['node:*', 'electron', 'idb', 'oauth4webapi', 'fs', 'path', 'os'] }],
    },
  },
);
