import { parseArgs } from 'node:util';
import { CONTESTANTS } from './vite.config.js';

export type ContestantName = (typeof CONTESTANTS)[number];

export interface BenchOptions {
  readonly windows: readonly number[];
  readonly cycles: number;
  readonly contestants: readonly ContestantName[];
  /** Access token lifetime at the server, seconds: one expiry cycle lasts about this long. */
  readonly ttlSeconds: number;
  /** The whole run stops (and cleans up) after this. */
  readonly timeoutSeconds: number;
  /** Also write the report into docs/. */
  readonly docs: boolean;
  /** Leave out the package build and the size of each entry. */
  readonly skipSize: boolean;
}

export const USAGE = `npm run bench -- [--n 1,2,8,32,64] [--cycles 5] [--contestants ${CONTESTANTS.join(',')}]
                    [--ttl 3] [--timeout 900] [--docs] [--skip-size]
  --n            window counts, each one browser context with that many pages
  --cycles       access token expiries per contestant and window count
  --contestants  which libraries to run
  --ttl          access token lifetime at the server, in seconds
  --timeout      bound on the whole run, in seconds
  --docs         also write docs/benchmarks.md, docs/bench-latest.svg and docs/bench-latest.json
  --skip-size    leave out npm run build and the minified + gzip size of each package entry`;

function integers(name: string, text: string, min: number, max: number): number[] {
  const values = text.split(',').map((part) => Number(part.trim()));
  if (values.length === 0 || values.some((v) => !Number.isInteger(v) || v < min || v > max)) {
    throw new Error(`--${name} takes whole numbers from ${min} to ${max}, got ${text}`);
  }
  return values;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      n: { type: 'string', default: '1,2,8,32,64' },
      cycles: { type: 'string', default: '5' },
      contestants: { type: 'string', default: CONTESTANTS.join(',') },
      ttl: { type: 'string', default: '3' },
      timeout: { type: 'string', default: '900' },
      docs: { type: 'boolean', default: false },
      'skip-size': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const contestants = values.contestants.split(',').map((name) => name.trim());
  const unknown = contestants.filter((name) => !(CONTESTANTS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown contestant ${unknown.join(', ')}; known: ${CONTESTANTS.join(', ')}`);
  return {
    windows: [...new Set(integers('n', values.n, 1, 128))].sort((a, b) => a - b),
    cycles: integers('cycles', values.cycles, 1, 100)[0]!,
    contestants: contestants as ContestantName[],
    ttlSeconds: integers('ttl', values.ttl, 2, 600)[0]!,
    timeoutSeconds: integers('timeout', values.timeout, 10, 24 * 3600)[0]!,
    docs: values.docs,
    skipSize: values['skip-size'],
  };
}
