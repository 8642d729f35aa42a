/**
 * Long runs of the model: `npm run fuzz -- --runs N [--seed S] [--faults all|none|a,b] [--commands M] [--transport broadcast|postgres|file]`;
 * a failure's report prints the `--path P --replay R` that replays it.
 * Exits 1 on a failure, after printing the seed, the replay path and the shrunk command list.
 */
import { parseArgs } from 'node:util';
import { ALL_FAULTS, FAULTS } from './commands.js';
import { explore, parseFaults } from './explore.js';
import { TRANSPORTS } from './transports.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    faults: { type: 'string', default: 'all' },
    path: { type: 'string' },
    replay: { type: 'string' },
    commands: { type: 'string', default: '40' },
    transport: { type: 'string', default: 'broadcast' },
  },
});
const transport = TRANSPORTS.find((t) => t === values.transport);
if (transport === undefined) throw new Error(`--transport must be one of ${TRANSPORTS.join(', ')}`);

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const runs = Number(values.runs);
const faults = parseFaults(values.faults);
console.log(`model fuzz: ${runs} runs, seed ${seed}, transport ${transport}, faults: ${faults.join(', ') || 'none'}`);
for (const fault of ALL_FAULTS.filter((f) => !faults.includes(f))) console.log(`  off: ${fault} (${FAULTS[fault].what}; finds ${FAULTS[fault].finds})`);
const started = Date.now();
const outcome = await explore({ runs, seed, faults, transport, maxCommands: Number(values.commands), ...(values.path !== undefined && { path: values.path }),
  ...(values.replay !== undefined && { replayPath: values.replay }),
});
if (outcome.failed) {
  console.log(outcome.report);
  process.exitCode = 1;
} else {
  console.log(`${outcome.runs} runs passed in ${((Date.now() - started) / 1000).toFixed(1)} s; exercised: ${JSON.stringify(outcome.coverage)}`);
}
