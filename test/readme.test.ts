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

test('every README example marked with its file is that file: the quick start (type-checked), the page of "Try it in your own app" (run in Chromium)', () => {
  const examples = [...readme.matchAll(/<!-- example: (\S+) [^\n]*-->\n```\w+\n([\s\S]*?)```\n/g)].map((m) => ({ file: m[1]!, text: m[2]! }));
  expect(examples.map((e) => e.file).sort()).toEqual(['examples/quick-start.ts', 'examples/try-it/index.html', 'examples/try-it/main.ts']);
  for (const { file, text } of examples) expect(text, file).toBe(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));
});

test('the README documents every core error code and no other; docs/electron.md every desktop code and no other', () => {
  expect(documentedCodes(readme, '### Error codes', '## Invariants')).toEqual(Object.keys(ErrorCode).sort());
  expect(documentedCodes(electronDoc, '### Error codes of the desktop shell', '\n## ')).toEqual(Object.keys(DesktopErrorCode).sort());
});
