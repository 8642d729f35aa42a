/** A small, dependency-free SVG line chart: one panel per figure, one line per contestant, x = windows on a log2 scale. */

export interface Series {
  readonly name: string;
  readonly color: string;
  /** One value per x; undefined leaves a gap. */
  readonly values: ReadonlyArray<number | undefined>;
}

export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  /** `log1p`: positions by log2(1 + y), so 0 stays visible and 1 and 64 are both readable. */
  readonly yScale: 'linear' | 'log1p';
  readonly yMax?: number;
  readonly series: readonly Series[];
}

const WIDTH = 380;
const HEIGHT = 300;
const MARGIN = { top: 48, right: 16, bottom: 44, left: 56 };
const MARKERS = ['circle', 'square', 'diamond', 'triangle'] as const;

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const round = (value: number): string => String(Math.round(value * 10) / 10);

/** Sizes and dashes differ per series, so that series with equal values stay visible on top of each other. */
const RADII = [4, 6, 3.5, 5];
const DASHES = ['', '7 4', '2 3', '10 3 2 3'];

function marker(kind: (typeof MARKERS)[number], x: number, y: number, color: string): string {
  const r = RADII[MARKERS.indexOf(kind)]!;
  switch (kind) {
    case 'circle':
      return `<circle cx="${round(x)}" cy="${round(y)}" r="${r}" fill="${color}"/>`;
    case 'square':
      return `<rect x="${round(x - r)}" y="${round(y - r)}" width="${2 * r}" height="${2 * r}" fill="${color}"/>`;
    case 'diamond':
      return `<path d="M${round(x)} ${round(y - r - 1)}L${round(x + r + 1)} ${round(y)}L${round(x)} ${round(y + r + 1)}L${round(x - r - 1)} ${round(y)}Z" fill="${color}"/>`;
    case 'triangle':
      return `<path d="M${round(x)} ${round(y - r - 1)}L${round(x + r + 1)} ${round(y + r)}L${round(x - r - 1)} ${round(y + r)}Z" fill="${color}"/>`;
  }
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 2.5, 5, 10].find((step) => step * magnitude >= value) ?? 10) * magnitude;
}

function panel(spec: Panel, xs: readonly number[], offsetX: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const lx = xs.map((x) => Math.log2(x));
  const [x0, x1] = [Math.min(...lx), Math.max(...lx)];
  const px = (x: number): number => MARGIN.left + (x1 === x0 ? plotW / 2 : ((Math.log2(x) - x0) / (x1 - x0)) * plotW);
  const all = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined));
  const dataMax = Math.max(0, ...all);
  let ticks: number[];
  let ty: (y: number) => number;
  if (spec.yScale === 'log1p') {
    const top = 2 ** Math.ceil(Math.log2(Math.max(2, spec.yMax ?? dataMax)));
    ticks = [0, ...Array.from({ length: Math.log2(top) + 1 }, (_, i) => 2 ** i)];
    ty = (y) => Math.log2(1 + y) / Math.log2(1 + top);
  } else {
    const top = spec.yMax ?? niceMax(dataMax);
    ticks = Array.from({ length: 5 }, (_, i) => (top * i) / 4);
    ty = (y) => y / top;
  }
  const py = (y: number): number => MARGIN.top + plotH - ty(y) * plotH;
  const parts: string[] = [
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">${escape(spec.title)}</text>`,
    `<text x="${WIDTH / 2}" y="34" text-anchor="middle" font-size="11" fill="#555">${escape(spec.yLabel)}</text>`,
  ];
  for (const tick of ticks) {
    const y = round(py(tick));
    parts.push(`<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y}" y2="${y}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="10" fill="#444">${round(tick)}</text>`);
  }
  for (const x of xs) {
    parts.push(`<line x1="${round(px(x))}" x2="${round(px(x))}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#444"/>`);
    parts.push(`<text x="${round(px(x))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle" font-size="10" fill="#444">${x}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="11" fill="#555">windows (log scale)</text>`);
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`);
  spec.series.forEach((series, index) => {
    const kind = MARKERS[index % MARKERS.length]!;
    let path = '';
    series.values.forEach((value, i) => {
      if (value === undefined) {
        path += ' ';
        return;
      }
      path += `${path === '' || path.endsWith(' ') ? 'M' : 'L'}${round(px(xs[i]!))} ${round(py(value))}`;
    });
    const dash = DASHES[index % DASHES.length] ? ` stroke-dasharray="${DASHES[index % DASHES.length]}"` : '';
    parts.push(`<path d="${path.trim()}" fill="none" stroke="${series.color}" stroke-width="2" opacity="0.85"${dash}/>`);
    series.values.forEach((value, i) => {
      if (value !== undefined) parts.push(marker(kind, px(xs[i]!), py(value), series.color));
    });
  });
  return `<g transform="translate(${offsetX} 0)">${parts.join('')}</g>`;
}

/** All panels side by side with one legend below; a self-contained SVG document. */
export function chartsSvg(panels: readonly Panel[], xs: readonly number[], caption: string): string {
  const legendY = HEIGHT + 14;
  const series = panels[0]?.series ?? [];
  const legend = series
    .map((s, index) => {
      const x = 24 + index * 200;
      return `${marker(MARKERS[index % MARKERS.length]!, x, legendY, s.color)}<text x="${x + 10}" y="${legendY + 4}" font-size="12">${escape(s.name)}</text>`;
    })
    .join('');
  const width = WIDTH * panels.length;
  const height = HEIGHT + 48;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...panels.map((p, i) => panel(p, xs, i * WIDTH)),
    legend,
    `<text x="${width - 12}" y="${legendY + 22}" text-anchor="end" font-size="10" fill="#666">${escape(caption)}</text>`,
    '</svg>',
  ].join('\n');
}
