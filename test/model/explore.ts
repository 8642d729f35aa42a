/**
 * One fast-check exploration of the model: settings, a scheduler and a command
 * list drawn at random, run, shrunk on failure, and reported with what replays it.
 */
import fc from 'fast-check';
import { ALL_FAULTS, FAULTS, commandsArbitrary, runModel, settingsArbitrary, type Command, type Fault } from './commands.js';
import type { Transport } from './transports.js';
import { Violation, type ModelSettings } from './world.js';

export interface ExploreOptions {
  readonly runs: number;
  readonly seed: number;
  readonly faults: readonly Fault[];
  /** fast-check's replay path of a reported failure (with its seed). */
  readonly path?: string;
  /** fast-check's replay path of the command list (the `replayPath` printed with it). */
  readonly replayPath?: string;
  readonly maxCommands?: number;
  /** How posts reach the other windows; default `broadcast`. */
  readonly transport?: Transport;
}

export type Outcome = { readonly failed: false; readonly runs: number; readonly coverage: Readonly<Record<string, number>> } | { readonly failed: true; readonly violation: Violation | undefined; readonly report: string };

export async function explore(options: ExploreOptions): Promise<Outcome> {
  const faults = new Set(options.faults);
  const coverage: Record<string, number> = {};
  const property = fc.asyncProperty(settingsArbitrary(faults, options.transport), fc.scheduler(), commandsArbitrary(faults, options.maxCommands, options.replayPath), async (settings, scheduler, commands) => {
    for (const [what, n] of Object.entries(await runModel(settings, scheduler, commands))) coverage[what] = (coverage[what] ?? 0) + n;
  });
  const details = await fc.check(property, { numRuns: options.runs, seed: options.seed, ...(options.path !== undefined && { path: options.path }) });
  if (!details.failed) return { failed: false, runs: details.numRuns, coverage };
  const error = details.errorInstance;
  const violation = error instanceof Violation ? error : undefined;
  const [settings, scheduler, commands] = details.counterexample ?? [];
  const replayPath = /replayPath="([^"]*)"/.exec(String(commands))?.[1];
  const list = [...faults].join(',') || 'none';
  const report = [
    `Model failure: ${error instanceof Error ? error.message : String(error)}`,
    `seed ${details.seed}, path "${details.counterexamplePath}", faults ${list}`,
    `replay: npm run fuzz -- --runs ${options.runs} --seed ${details.seed} --path ${details.counterexamplePath} --replay '${replayPath ?? ''}' --faults ${list} --commands ${options.maxCommands ?? 40}`,
    `settings: ${JSON.stringify(settings)}`,
    `shrunk commands (executed ones): ${String(commands)}`,
    `scheduler: ${String(scheduler)}`,
    ...(violation ? ['trace:', ...violation.trace.map((line) => `  ${line}`)] : []),
    ...(violation ? [] : [`stack: ${error instanceof Error ? error.stack : ''}`]),
  ].join('\n');
  return { failed: true, violation, report };
}

/** Parses `all`, `none` or a comma-separated list of fault classes. */
export function parseFaults(value: string): Fault[] {
  if (value === 'all') return ALL_FAULTS;
  if (value === 'none' || value === '') return [];
  const names = value.split(',').map((name) => name.trim());
  for (const name of names) if (!(name in FAULTS)) throw new Error(`unknown fault class ${name}; known: ${ALL_FAULTS.join(', ')}`);
  return names as Fault[];
}

/**
 * Runs one fixed command list under `runs` interleavings of the scheduler (fixed seed):
 * the first violation found, or undefined. For the regression cases.
 */
export async function replay(settings: ModelSettings, commands: readonly Command[], runs = 20, seed = 14): Promise<Violation | undefined> {
  const property = fc.asyncProperty(fc.scheduler(), async (scheduler) => void (await runModel(settings, scheduler, commands)));
  const details = await fc.check(property, { numRuns: runs, seed });
  if (!details.failed) return undefined;
  if (details.errorInstance instanceof Violation) return details.errorInstance;
  throw details.errorInstance;
}
