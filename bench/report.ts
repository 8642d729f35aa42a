import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { chartsSvg, type Panel } from './plot.js';
import { summarize, type BenchReport, type RunResult } from './results.js';
import { SIZE_HEADER, sizeRows, type EntrySize } from './size.js';

const OUT_DIR = new URL('out/', import.meta.url);
const DOCS_DIR = new URL('../docs/', import.meta.url);
const README = new URL('../README.md', import.meta.url);
const BEGIN = '<!-- bench:begin (written by npm run bench -- --docs) -->';
const END = '<!-- bench:end -->';
const COLORS: Record<string, string> = { tokenherd: '#1b7f3b', naive: '#c0392b', 'oidc-client-ts': '#2c6fbb', 'okta-auth-js': '#8e44ad' };

type Table = { header: string[]; rows: string[][] };

const fixed = (value: number | undefined, digits = 0): string => (value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits));
const pair = (a: number | undefined, b: number | undefined, digits = 0): string =>
  a === undefined ? '–' : `${fixed(a, digits)} / ${fixed(b, digits)}`;

function mainTable(runs: readonly RunResult[]): Table {
  return {
    header: ['contestant', 'windows', 'refresh requests per expiry (mean, max)', 'invalid_grant', 'grants revoked', 'working windows after last expiry', 'expiries with every window fresh', 'time to fresh token in every window, median / max ms', 'heap per window KB, median (max)'],
    rows: runs.map((run) => {
      if (run.failure) return [run.contestant, String(run.windows), `run failed: ${run.failure}`, '', '', '', '', '', ''];
      const s = summarize(run);
      return [
        run.contestant,
        String(run.windows),
        `${fixed(s.requestsPerExpiry, 1)} (${fixed(s.maxRequestsPerExpiry)})`,
        String(s.invalidGrant),
        String(s.grantsRevoked),
        `${s.workingAfterLast}/${run.windows}`,
        `${s.allFreshCycles}/${run.cycles.length}`,
        pair(s.allFreshMedianMs, s.allFreshMaxMs),
        `${fixed(run.heapPerWindowKB.median)} (${fixed(run.heapPerWindowKB.max)})`,
      ];
    }),
  };
}

function tokenherdTable(runs: readonly RunResult[]): Table {
  return {
    header: ['windows', 'hot path calls/s', 'hot path median µs', 'IndexedDB transactions in hot path', 'server round trip median ms', 'last window starts after expiry, median / max ms', 'fresh everywhere minus round trip, median / max ms', 'leader write to last window, median / max ms', 'of which until the last other window had adopted it, median ms', 'windows granted the lock per expiry, median', 'floor: broadcast / broadcast + IndexedDB read to every window, median ms'],
    rows: runs.map((run) => {
      const s = summarize(run);
      const hot = run.hotPath;
      return [
        String(run.windows),
        hot ? `${(hot.callsPerSecond / 1e6).toFixed(2)} M` : '–',
        fixed(hot?.medianMicros, 3),
        hot ? String(hot.idbTransactions) : '–',
        fixed(s.roundTripMedianMs, 1),
        pair(s.startSkewMedianMs, s.startSkewMaxMs, 1),
        pair(s.overheadMedianMs, s.overheadMaxMs, 1),
        pair(s.propagationMedianMs, s.propagationMaxMs, 1),
        fixed(s.lastReadMedianMs, 1),
        fixed(s.lockGrantsMedian),
        run.floor ? `${fixed(run.floor.broadcastMs, 1)} / ${fixed(run.floor.broadcastAndReadMs, 1)}` : '–',
      ];
    }),
  };
}

/** The window counts at which the "round trip + 20 ms" target is stated. */
const FRESH_TARGET_WINDOWS = [8, 32, 64] as const;
const FRESH_TARGET_MS = 20;

/** Judges "every window holds the new token within the refresher's round trip + 20 ms" over the expiries of one run. */
function freshVerdict(excess: readonly number[]): string {
  if (excess.length === 0) return 'not measured';
  const middle = [...excess].sort((a, b) => a - b)[Math.floor((excess.length - 1) / 2)]!;
  if (excess.every((e) => e <= FRESH_TARGET_MS)) return 'met';
  return middle <= FRESH_TARGET_MS ? 'met at the median only' : 'NOT met';
}

/** tokenherd runs with 2 or more windows, plus a "not run" row for each target window count absent from this run. */
function freshRuns(runs: readonly RunResult[]): Array<RunResult | number> {
  const multi = runs.filter((run) => run.windows > 1 && !run.failure);
  const missing = FRESH_TARGET_WINDOWS.filter((n) => !multi.some((run) => run.windows === n));
  return [...multi, ...missing].sort((a, b) => (typeof a === 'number' ? a : a.windows) - (typeof b === 'number' ? b : b.windows));
}

/**
 * The target "fresh in every window within one server round trip + 20 ms", per window count, with
 * where the time goes and the broadcast floor measured in the same windows beside it.
 */
function freshTable(runs: readonly RunResult[]): Table {
  return {
    header: [
      'windows',
      'refresher round trip, median ms',
      'expiry to request sent, median ms',
      'server response to last window holding the token, median / max ms',
      'server response to median window, median ms',
      'broadcast floor: one message to every window, median ms',
      'every window holds it, minus round trip, median / max ms',
      `target: round trip + ${FRESH_TARGET_MS} ms`,
    ],
    rows: freshRuns(runs).map((run) => {
      if (typeof run === 'number') return [String(run), 'not run', '', '', '', '', '', '–'];
      const s = summarize(run);
      return [
        String(run.windows),
        fixed(s.refresherRoundTripMedianMs, 1),
        fixed(s.requestStartMedianMs, 1),
        pair(s.responseToLastMedianMs, s.responseToLastMaxMs, 1),
        fixed(s.responseToMedianWindowMs, 1),
        fixed(run.floor?.broadcastMs, 1),
        pair(s.heldExcessMedianMs, s.heldExcessMaxMs, 1),
        `${freshVerdict(s.heldExcessMs)} (${s.heldExcessMs.length}/${run.cycles.length} expiries measured)`,
      ];
    }),
  };
}

/** tokenherd's targets (issues 5 and 8), judged on this run's output. */
function targetsTable(runs: readonly RunResult[]): Table {
  const ok = runs.filter((run) => !run.failure && run.cycles.length > 0);
  if (ok.length === 0) return { header: ['target', 'measured', 'verdict'], rows: [['tokenherd', 'not run', '–']] };
  const cycles = ok.flatMap((run) => run.cycles.map((cycle) => ({ run, cycle })));
  const requests = cycles.map(({ cycle }) => cycle.refreshRequests);
  const lost = cycles.filter(({ run, cycle }) => cycle.windowsWorking < run.windows).length;
  const hot = ok.flatMap((run) => (run.hotPath ? [run.hotPath] : []));
  const hotMedian = Math.max(...hot.map((h) => h.medianMicros));
  const hotReads = hot.reduce((total, h) => total + h.idbTransactions, 0);
  const heap = Math.max(...ok.map((run) => run.heapPerWindowKB.median));
  const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
  const fresh = FRESH_TARGET_WINDOWS.map((n) => {
    const target = `fresh token in all ${n} windows within one round trip + ${FRESH_TARGET_MS} ms`;
    const run = ok.find((r) => r.windows === n);
    if (!run) return [target, 'not run', '–'];
    const s = summarize(run);
    return [
      target,
      `round trip ${fixed(s.refresherRoundTripMedianMs, 1)} ms; excess median ${fixed(s.heldExcessMedianMs, 1)} ms, max ${fixed(s.heldExcessMaxMs, 1)} ms; broadcast floor ${fixed(run.floor?.broadcastMs, 1)} ms`,
      freshVerdict(s.heldExcessMs),
    ];
  });
  return {
    header: ['target', 'measured', 'verdict'],
    rows: [
      ['exactly 1 refresh request per expiry, every N', `${Math.min(...requests)}–${Math.max(...requests)} per expiry over ${cycles.length} expiries`, verdict(requests.every((r) => r === 1))],
      ['every window keeps a working session', `${lost} of ${cycles.length} expiries left a window without a working token`, verdict(lost === 0)],
      ...fresh,
      ['hot path under 2 µs median, no IndexedDB read', hot.length === 0 ? 'not measured' : `${hotMedian.toFixed(3)} µs (worst run), ${hotReads} IndexedDB transactions`, verdict(hot.length > 0 && hotMedian < 2 && hotReads === 0)],
      ['under 200 KB of heap per window', `${fixed(heap)} KB (worst median over runs)`, verdict(heap < 200)],
    ],
  };
}

function sizeTable(sizes: readonly EntrySize[]): Table {
  return { header: SIZE_HEADER, rows: sizeRows(sizes) };
}

function plainTable({ header, rows }: Table): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function markdownTable({ header, rows }: Table): string {
  const line = (cells: string[]): string => `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const escapeHtml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function htmlTable({ header, rows }: Table): string {
  return `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function charts(report: BenchReport): string {
  const xs = report.options.windows;
  const contestants = [...new Set(report.runs.map((run) => run.contestant))];
  const series = (pick: (run: RunResult) => number | undefined) =>
    contestants.map((name) => ({
      name,
      color: COLORS[name] ?? '#666',
      values: xs.map((n) => {
        const run = report.runs.find((r) => r.contestant === name && r.windows === n && !r.failure);
        return run ? pick(run) : undefined;
      }),
    }));
  const panels: Panel[] = [
    { title: 'Refresh requests per expiry', yLabel: 'most at one expiry, counted by the server (log scale)', yScale: 'log1p', series: series((run) => summarize(run).maxRequestsPerExpiry) },
    { title: 'Windows with a working session', yLabel: '% holding a token the server accepts, after the last expiry', yScale: 'linear', yMax: 100, series: series((run) => (100 * summarize(run).workingAfterLast) / run.windows) },
    { title: 'Time to a fresh token in every window', yLabel: 'median ms, over expiries after which every window had one', yScale: 'linear', series: series((run) => summarize(run).allFreshMedianMs) },
  ];
  const { machine } = report;
  return chartsSvg(panels, xs, `${report.command} · ${machine.cpu}, ${machine.cores} cores · Chromium ${machine.chromium} · ${report.startedAt.slice(0, 10)}`);
}

function header(report: BenchReport): string[] {
  const { machine, options } = report;
  return [
    `command: ${report.command}`,
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; Chromium ${machine.chromium}; load ${machine.loadAverage} at start`,
    `run: ${report.startedAt}, ${report.durationSeconds} s; ${options.cycles} expiries per row; access tokens live ${options.ttlSeconds} s`,
    `versions: ${Object.entries(report.versions).map(([name, version]) => `${name} ${version}`).join(', ')}`,
  ];
}

/** The command, the machine, the plots and the main table; `docs/` is where the page that shows them lives relative to. */
function summaryMarkdown(report: BenchReport, docs: string): string[] {
  return [
    ...header(report).map((line) => `- ${line.replace(/^(\w+): (.*)$/, '$1: `$2`')}`),
    '',
    `![Refresh requests per expiry, windows with a working session, and time to a fresh token, per contestant and window count](${docs}bench-latest.svg)`,
    '',
    markdownTable(mainTable(report.runs)),
  ];
}

function readmeMarkdown(report: BenchReport): string {
  return [BEGIN, ...summaryMarkdown(report, 'docs/'), '', 'How it is measured, tokenherd in detail and against its targets: [docs/benchmarks.md](docs/benchmarks.md).', END].join('\n');
}

function markdown(report: BenchReport): string {
  const tokenherd = report.runs.filter((run) => run.contestant === 'tokenherd' && !run.failure);
  return [
    BEGIN,
    ...summaryMarkdown(report, ''),
    '',
    '### tokenherd in detail',
    '',
    markdownTable(tokenherdTable(tokenherd)),
    '',
    '### Fresh in every window: round trip + 20 ms',
    '',
    markdownTable(freshTable(tokenherd)),
    '',
    '### tokenherd against its targets',
    '',
    markdownTable(targetsTable(tokenherd)),
    '',
    ...(report.sizes ? ['### Package entries, minified + gzip', '', markdownTable(sizeTable(report.sizes)), ''] : []),
    'Raw figures, per expiry: [bench-latest.json](bench-latest.json).',
    END,
  ].join('\n');
}

function html(report: BenchReport, svg: string): string {
  const tokenherd = report.runs.filter((run) => run.contestant === 'tokenherd' && !run.failure);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tokenherd benchmark</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0 24px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}code{background:#f4f4f4;padding:1px 4px}</style>
</head><body>
<h1>tokenherd benchmark</h1>
${header(report).map((line) => `<div><code>${escapeHtml(line)}</code></div>`).join('\n')}
<p>${svg}</p>
${htmlTable(mainTable(report.runs))}
<h2>tokenherd in detail</h2>
${htmlTable(tokenherdTable(tokenherd))}
<h2>Fresh in every window: round trip + 20 ms</h2>
${htmlTable(freshTable(tokenherd))}
<h2>tokenherd against its targets</h2>
${htmlTable(targetsTable(tokenherd))}
${report.sizes ? `<h2>Package entries, minified + gzip</h2>\n${htmlTable(sizeTable(report.sizes))}` : ''}
</body></html>
`;
}

/** The terminal tables, bench/out/{results.json, report.svg, report.html}, and with `docs` the copies under docs/. */
export async function writeReport(report: BenchReport, { docs }: { docs: boolean }): Promise<void> {
  const tokenherd = report.runs.filter((run) => run.contestant === 'tokenherd' && !run.failure);
  console.log(`\n${header(report).join('\n')}\n`);
  console.log(plainTable(mainTable(report.runs)));
  if (tokenherd.length > 0) {
    console.log(`\ntokenherd in detail\n${plainTable(tokenherdTable(tokenherd))}`);
    console.log(`\nfresh in every window: round trip + 20 ms\n${plainTable(freshTable(tokenherd))}`);
    console.log(`\ntokenherd against its targets\n${plainTable(targetsTable(tokenherd))}`);
  }
  if (report.sizes) console.log(`\npackage entries, minified + gzip\n${plainTable(sizeTable(report.sizes))}`);
  const svg = charts(report);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  await mkdir(OUT_DIR, { recursive: true });
  await Promise.all([
    writeFile(new URL('results.json', OUT_DIR), json),
    writeFile(new URL('report.svg', OUT_DIR), svg),
    writeFile(new URL('report.html', OUT_DIR), html(report, svg)),
  ]);
  console.log(`\nwritten: bench/out/results.json, bench/out/report.svg, bench/out/report.html`);
  if (!docs) return;
  await Promise.all([
    writeFile(new URL('bench-latest.json', DOCS_DIR), json),
    writeFile(new URL('bench-latest.svg', DOCS_DIR), `${svg}\n`),
    replaceSection(new URL('benchmarks.md', DOCS_DIR), markdown(report)),
    replaceSection(README, readmeMarkdown(report)),
  ]);
  console.log('written: docs/benchmarks.md, docs/bench-latest.svg, docs/bench-latest.json, README.md');
}

/** Replaces the text between the bench markers of `file`, markers included. */
async function replaceSection(file: URL, section: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${file.pathname} lacks the markers ${BEGIN} … ${END}`);
  await writeFile(file, text.slice(0, begin) + section + text.slice(end + END.length));
}
