/**
 * The demo's control room: every demo window tells the others, on a BroadcastChannel of its
 * own (not the library's), what it holds twice a second and what it does as it happens; each
 * window draws all of them: a table of the open windows, and an SVG timeline of the last
 * rotations (refresh started, rotated tokens stored, each window's receipt of the new token).
 */
import type { CoordinatorState, TokenHerdEvent } from '../../src/renderer/index.js';

type Report =
  | { readonly kind: 'status'; readonly windowId: string; readonly at: number; readonly state: CoordinatorState }
  | { readonly kind: 'event'; readonly windowId: string; readonly at: number; readonly event: TokenHerdEvent }
  | { readonly kind: 'closed'; readonly windowId: string };

/** One rotation as the windows reported it: epoch ms. */
export interface Rotation {
  readonly generation: number;
  started?: number;
  startedBy?: string;
  stored?: number;
  readonly received: Map<string, number>;
}

const SHOWN = 5;
const STALE_MS = 2_000;
const SVG = 'http://www.w3.org/2000/svg';

export function startControlRoom(windowId: string, coordinator: { getState(): CoordinatorState; subscribe(listener: (event: TokenHerdEvent) => void): () => void }) {
  // Closed while the page is in the back/forward cache: a message to a cached page's open channel evicts it.
  let channel: BroadcastChannel | undefined;
  const openChannel = (): BroadcastChannel => {
    const opened = new BroadcastChannel('tokenherd-demo:control');
    opened.onmessage = (message: MessageEvent<Report>) => take(message.data);
    return opened;
  };
  const windows = new Map<string, { at: number; state: CoordinatorState }>();
  const rotations = new Map<number, Rotation>();

  function take(report: Report): void {
    if (report.kind === 'closed') return void windows.delete(report.windowId);
    if (report.kind === 'status') return void windows.set(report.windowId, { at: report.at, state: report.state });
    const { event, at, windowId: from } = report;
    if (event.type !== 'refresh-started' && event.type !== 'refresh-succeeded' && event.type !== 'session-changed') return;
    const generation = event.type === 'refresh-started' ? event.generation + 1 : event.generation;
    const rotation: Rotation = rotations.get(generation) ?? { generation, received: new Map<string, number>() };
    rotations.set(generation, rotation);
    if (event.type === 'refresh-started' && rotation.started === undefined) Object.assign(rotation, { started: at, startedBy: from });
    if (event.type === 'refresh-succeeded') rotation.stored = at;
    if (event.type === 'session-changed' && !rotation.received.has(from)) rotation.received.set(from, at);
    for (const old of [...rotations.keys()].sort((a, b) => a - b).slice(0, -SHOWN - 1)) rotations.delete(old);
  }

  function publish(report: Report): void {
    take(report);
    channel?.postMessage(report);
  }

  channel = openChannel();
  coordinator.subscribe((event) => publish({ kind: 'event', windowId, at: Date.now(), event }));
  const tell = (): void => publish({ kind: 'status', windowId, at: Date.now(), state: coordinator.getState() });
  tell();
  setInterval(() => {
    tell();
    draw();
  }, 500);
  addEventListener('pagehide', () => {
    channel?.postMessage({ kind: 'closed', windowId } satisfies Report);
    channel?.close();
    channel = undefined;
  });
  addEventListener('pageshow', (event) => {
    if (event.persisted) channel = openChannel();
  });

  function draw(): void {
    const now = Date.now();
    const rows = [...windows.entries()].filter(([, w]) => now - w.at < STALE_MS).sort(([a], [b]) => a.localeCompare(b));
    const table = document.getElementById('control-windows');
    if (table) {
      table.replaceChildren(
        ...rows.map(([id, { state }]) => {
          const row = document.createElement('tr');
          row.dataset['window'] = id;
          const left = state.expiresAt === undefined ? '–' : `${Math.max(0, (state.expiresAt - now) / 1000).toFixed(1)} s`;
          for (const text of [id, state.holdsRole ? 'scheduler' : '', state.holdsLock ? 'lock' : '', String(state.generation), left]) {
            const cell = document.createElement('td');
            cell.textContent = text;
            row.append(cell);
          }
          return row;
        }),
      );
    }
    drawTimeline(rows.map(([id]) => id));
  }

  function drawTimeline(ids: string[]): void {
    const svg = document.getElementById('control-timeline');
    if (!svg) return;
    const shown = [...rotations.values()].filter((r) => r.started !== undefined && r.stored !== undefined).slice(-SHOWN);
    const lane = 18;
    const width = 640;
    svg.setAttribute('viewBox', `0 0 ${width} ${Math.max(1, shown.length) * (lane * (ids.length + 2))}`);
    svg.replaceChildren();
    shown.forEach((rotation, index) => {
      const group = document.createElementNS(SVG, 'g');
      const top = index * lane * (ids.length + 2);
      group.setAttribute('data-generation', String(rotation.generation));
      group.setAttribute('data-started', String(rotation.started));
      group.setAttribute('data-stored', String(rotation.stored));
      group.setAttribute('transform', `translate(0 ${top})`);
      const start = rotation.started!;
      const last = Math.max(rotation.stored!, ...rotation.received.values());
      const x = (at: number): number => 120 + ((at - start) / Math.max(1, last - start)) * (width - 140);
      const text = (content: string, tx: number, ty: number): void => {
        const label = document.createElementNS(SVG, 'text');
        label.setAttribute('x', String(tx));
        label.setAttribute('y', String(ty));
        label.setAttribute('font-size', '11');
        label.setAttribute('fill', 'currentColor');
        label.textContent = content;
        group.append(label);
      };
      text(`generation ${rotation.generation} (${rotation.startedBy})`, 0, lane - 4);
      const bar = document.createElementNS(SVG, 'rect');
      Object.entries({ x: x(start), y: 4, width: Math.max(2, x(rotation.stored!) - x(start)), height: lane - 8, fill: '#2b7', 'data-kind': 'request' }).forEach(([k, v]) => bar.setAttribute(k, String(v)));
      group.append(bar);
      text(`${rotation.stored! - start} ms`, x(rotation.stored!) + 4, lane - 4);
      ids.forEach((id, row) => {
        const at = rotation.received.get(id);
        text(id, 0, lane * (row + 2) - 4);
        if (at === undefined) return;
        const dot = document.createElementNS(SVG, 'circle');
        Object.entries({ cx: x(at), cy: lane * (row + 2) - 8, r: 4, fill: '#37c', 'data-window': id, 'data-at': at }).forEach(([k, v]) => dot.setAttribute(k, String(v)));
        group.append(dot);
      });
      svg.append(group);
    });
  }

  return { rotations, draw };
}
