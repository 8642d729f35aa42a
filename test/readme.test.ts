import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { ErrorCode } from '../src/shared/errors.js';
import { DesktopErrorCode } from '../src/desktop/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const electronDoc = readFileSync(new URL('../docs/electron.md', import.meta.url), 'utf8');

/** The codes in the first column of the table between `from` and `to` in `text`. */
function documentedCodes(text: string, from: string, to: string): string[] {
  const start = text.indexOf(from);
  const end = text.indexOf(to, start);
  expect([start, end].map((at) => at >= 0)).toEqual([true, true]);
  return [...text.slice(start, end).matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]!).sort();
}

test('the README usage example is examples/quick-start.ts, which the type-level test compiles', () => {
  const marker = '<!-- example: examples/quick-start.ts';
  const start = readme.indexOf('```ts\n', readme.indexOf(marker)) + '```ts\n'.length;
  const example = readme.slice(start, readme.indexOf('```\n', start));
  expect(example).toBe(readFileSync(new URL('../examples/quick-start.ts', import.meta.url), 'utf8'));
});

test('the README documents every core error code and no other; docs/electron.md every desktop code and no other', () => {
  expect(documentedCodes(readme, '### Error codes', '## Invariants')).toEqual(Object.keys(ErrorCode).sort());
  expect(documentedCodes(electronDoc, '### Error codes of the desktop shell', '\n## ')).toEqual(Object.keys(DesktopErrorCode).sort());
});
