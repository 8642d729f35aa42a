import type { ContestantName } from '../options.js';
import type { BenchHandle } from './harness.js';

/**
 * The one page of every contestant: `?contestant=` names the library this window runs.
 * Each module is its own chunk, so a window loads only its own library; the runner waits
 * for `window.bench`, the handle that module created.
 */
const contestants: Record<ContestantName, () => Promise<{ bench: BenchHandle }>> = {
  tokenherd: () => import('./tokenherd.js'),
  naive: () => import('./naive.js'),
  'oidc-client-ts': () => import('./oidc-client-ts.js'),
  'okta-auth-js': () => import('./okta-auth-js.js'),
};

const name = new URLSearchParams(location.search).get('contestant');
const load = Object.entries(contestants).find(([contestant]) => contestant === name)?.[1];
if (load === undefined) throw new Error(`unknown contestant ${String(name)}`);
document.title = `bench: ${name}`;
Object.assign(window, { bench: (await load()).bench });
