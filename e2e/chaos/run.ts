/**
 * `npm run chaos [-- options]`: runs the chaos test, or with `--soak` the soak, in Playwright's
 * `chaos` project. A wrapper because Playwright refuses options it does not know, so
 * `npm run chaos -- --soak` could not reach a test; the options become CHAOS_* variables.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const USAGE = `npm run chaos -- [--seed S] [--windows 6] [--steps 40]
npm run chaos -- --soak [--seed S] [--windows 16] [--expiries 1000] [--minutes 25]
  --seed      replays a run (each run prints its seed)
  --windows   browser windows (the chaos test runs at up to 64)
  --steps     chaos: random steps (expiries, forced refreshes, closes mid-refresh, reloads)
  --soak      the soak: expiries with random faults, closes and reloads, then a report
  --expiries  soak: expiries to drive the windows through
  --minutes   soak: time bound; the soak stops there and fails with what it measured`;

function usageError(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

const parse = () => parseArgs({
  args: process.argv.slice(2),
  options: {
    soak: { type: 'boolean', default: false },
    seed: { type: 'string' },
    windows: { type: 'string' },
    steps: { type: 'string' },
    expiries: { type: 'string' },
    minutes: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
let values: ReturnType<typeof parse>['values'];
try {
  ({ values } = parse());
} catch (error) {
  usageError(error instanceof Error ? error.message : String(error));
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

// The seed is drawn here, once: Playwright loads the spec in more than one process, which must agree on it.
const env: Record<string, string> = { TOKENHERD_CHAOS: '1', CHAOS_SEED: String(Date.now() % 1_000_000) };
const settings = { CHAOS_SEED: values.seed, CHAOS_WINDOWS: values.windows, CHAOS_STEPS: values.steps, CHAOS_EXPIRIES: values.expiries, CHAOS_MINUTES: values.minutes };
for (const [name, value] of Object.entries(settings)) {
  if (value === undefined) continue;
  if (!/^\d+$/.test(value)) usageError(`${name.replace('CHAOS_', '--').toLowerCase()} takes a whole number, got ${value}`);
  env[name] = value;
}
if (!values.soak && (values.expiries !== undefined || values.minutes !== undefined)) usageError('--expiries and --minutes belong to --soak');
if (values.soak && values.steps !== undefined) usageError('--steps belongs to the chaos test, not --soak (use --expiries)');

const spec = values.soak ? 'e2e/chaos/soak.spec.ts' : 'e2e/chaos/chaos.spec.ts';
const child = spawn('npx', ['playwright', 'test', '--project=chaos', '--workers=1', spec], { stdio: 'inherit', env: { ...process.env, ...env } });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
