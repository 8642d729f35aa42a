import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { ErrorCode } from '../src/shared/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the README usage example is examples/quick-start.ts, which the type-level test compiles', () => {
  const marker = '<!-- example: examples/quick-start.ts';
  const start = readme.indexOf('```ts\n', readme.indexOf(marker)) + '```ts\n'.length;
  const example = readme.slice(start, readme.indexOf('```\n', start));
  expect(example).toBe(readFileSync(new URL('../examples/quick-start.ts', import.meta.url), 'utf8'));
});

test('the README documents every error code and no other', () => {
  const table = readme.slice(readme.indexOf('### Error codes'), readme.indexOf('## Invariants'));
  const documented = [...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  expect(documented.sort()).toEqual(Object.keys(ErrorCode).sort());
});
