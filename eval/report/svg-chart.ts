/**
 * A tiny, dependency-free SVG chart library for benchmark results and reports: one or more panels side by side,
 * each a line chart (linear or log2 x axis) or a grouped bar chart (categorical x axis), with a linear y axis with
 * "nice" ticks (1, 2, 2.5, 5 × 10^k) — from 0, or from a negative value when the data (or `yMin`) go below 0, then
 * with a darker zero line — axis labels, a legend above the plot, and per series:
 *  - line panels: one `<path class="series-line">` plus one marker per finite point (`class="marker"`; circle,
 *    square, triangle, diamond, down-triangle in turn, so series differ without colour too), and, for points with
 *    finite `lo` and `hi`, an error bar (`class="errorbar"`, whiskers) or a shaded band (`class="band"`, one polygon
 *    per unbroken stretch);
 *  - bar panels: one `<rect class="bar">` per finite value, bars of one category side by side.
 * Every series is a `<g class="series" data-series="name" data-points="n">` and every marker / bar carries
 * `data-x` and `data-y`, so a test (or a browser) can count series and points. Points with a non-finite y are
 * skipped (the line breaks there); nothing non-finite reaches the SVG. `notes` write a short grey text at an x
 * position near the bottom of the plot (e.g. "no images" where a point is missing).
 *
 *   writeFileSync('chart.svg', lineChart({ title: '…', panels: [{ title: 'forward', xLabel: 'G', yLabel: 'ms',
 *     xScale: 'log2', series: [{ name: 'GC', points: [{ x: 1, y: 10 }, { x: 2, y: 7 }] }] }] }));
 *
 * `lineChart` returns a standalone document (with the XML declaration); `{ xmlDeclaration: false }` gives a bare
 * `<svg>` element to inline in HTML.
 */

export interface Point {
  x: number;
  y: number;
  /** Lower / upper end of an interval around y (drawn when both are finite). */
  lo?: number;
  hi?: number;
}

export interface Series {
  name: string;
  points: Point[];
  /** CSS colour; default from a colour-blind-friendly palette by series index. */
  color?: string;
  /** stroke-dasharray, e.g. '6 4'. */
  dash?: string;
  /** How intervals are drawn: 'bars' (whiskers, default) or 'band' (a shaded area). */
  intervals?: 'bars' | 'band';
}

export interface Note {
  x: number;
  text: string;
}

export interface Panel {
  title?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** 'line' (default) or 'bar': then x of a point is the index into `categories`. */
  kind?: 'line' | 'bar';
  /** Bar panels: the category labels along x. */
  categories?: string[];
  /** Default 'linear'. With 'log2' the x values must be > 0 and the ticks are the powers of two in range. */
  xScale?: 'linear' | 'log2';
  /** Explicit x ticks (default: powers of two for log2, nice ticks for linear). */
  xTicks?: number[];
  /** Explicit x range of a linear axis (default: the data and ticks). */
  xMin?: number;
  xMax?: number;
  /** Upper end of the y axis (default: a nice number ≥ the largest y or interval end). */
  yMax?: number;
  /** Lower end of the y axis (default 0, or a nice number ≤ the smallest y or interval end when that is < 0). */
  yMin?: number;
  /** Short texts at x positions, drawn above the x axis. */
  notes?: Note[];
}

export interface ChartOptions {
  panels: Panel[];
  /** Document title (top, centred) and an optional smaller subtitle below it ('\n' starts a new line). */
  title?: string;
  subtitle?: string;
  /** Size of one panel in px; default 480 × 360. */
  panelWidth?: number;
  panelHeight?: number;
  /** Base font size in px; default 13. */
  fontSize?: number;
  /** Start with `<?xml …?>` (a standalone .svg file); default true. false for inline SVG in HTML. */
  xmlDeclaration?: boolean;
  /** Attributes of the root `<svg>`: `id`, `class` and `data-*` (names without the prefix). */
  id?: string;
  className?: string;
  data?: Record<string, string | number>;
  /** Accessible description (`<title>` child, role="img"). */
  description?: string;
}

export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'] as const;
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

/** Escape text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function niceStep(span: number, target: number): number {
  const raw = span / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
}

/** Ticks 0 … ≥ max with a step of 1, 2, 2.5 or 5 × 10^k, about `target` intervals. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const step = niceStep(max, target);
  const n = Math.ceil(max / step - 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => round(i * step));
}

/**
 * Ticks covering [min, max] (min ≤ 0 ≤ max is not required) on multiples of a nice step, about `target`
 * intervals; 0 is a tick whenever the range contains it. `niceRange(0, max)` equals `niceTicks(max)`.
 */
export function niceRange(min: number, max: number, target = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0, 1];
  if (min >= 0) return niceTicks(max, target);
  if (max <= min) max = min + 1;
  const step = niceStep(max - min, target);
  const lo = Math.floor(min / step + 1e-9);
  const hi = Math.ceil(max / step - 1e-9);
  return Array.from({ length: hi - lo + 1 }, (_, i) => round((lo + i) * step));
}

/** Powers of two from ⌊log2 min⌋ to ⌈log2 max⌉. */
export function log2Ticks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log2(min));
  const hi = Math.ceil(Math.log2(max));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 2 ** (lo + i));
}

function round(v: number): number {
  const r = Number.parseFloat(v.toPrecision(12));
  return r === 0 ? 0 : r; // no -0
}

/** Tick label: no trailing zeros, thousands without separators, small numbers with up to 3 significant digits. */
export function tickLabel(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1) return String(round(Number.parseFloat(v.toFixed(2))));
  return String(Number.parseFloat(v.toPrecision(3)));
}

/** A rough text width for layout (DejaVu Sans averages ~0.6 em per character). */
function textWidth(s: string, size: number): number {
  return s.length * size * 0.6;
}

/** Coordinates with at most 2 decimals, never NaN (callers only pass finite values). */
function c(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A number for a data-* attribute: full precision, never NaN. */
function dataNum(v: number): string {
  return Number.isFinite(v) ? String(v) : '';
}

function marker(kind: (typeof MARKERS)[number], x: number, y: number, r: number, color: string, cls: string, extra = ''): string {
  const common = `class="${cls}" fill="${color}" stroke="#fff" stroke-width="1"${extra}`;
  switch (kind) {
    case 'circle':
      return `<circle ${common} cx="${c(x)}" cy="${c(y)}" r="${c(r)}"/>`;
    case 'square':
      return `<rect ${common} x="${c(x - r * 0.9)}" y="${c(y - r * 0.9)}" width="${c(r * 1.8)}" height="${c(r * 1.8)}"/>`;
    case 'triangle': {
      const h = r * 1.15;
      return `<polygon ${common} points="${c(x)},${c(y - h)} ${c(x + h)},${c(y + h * 0.8)} ${c(x - h)},${c(y + h * 0.8)}"/>`;
    }
    case 'triangle-down': {
      const h = r * 1.15;
      return `<polygon ${common} points="${c(x)},${c(y + h)} ${c(x + h)},${c(y - h * 0.8)} ${c(x - h)},${c(y - h * 0.8)}"/>`;
    }
    case 'diamond': {
      const h = r * 1.25;
      return `<polygon ${common} points="${c(x)},${c(y - h)} ${c(x + h)},${c(y)} ${c(x)},${c(y + h)} ${c(x - h)},${c(y)}"/>`;
    }
  }
}

interface Layout {
  width: number;
  height: number;
  fontSize: number;
}

const hasInterval = (p: Point) => Number.isFinite(p.y) && Number.isFinite(p.lo) && Number.isFinite(p.hi);

function renderPanel(panel: Panel, ox: number, oy: number, L: Layout, panelIndex: number): string {
  const fs = L.fontSize;
  const bar = panel.kind === 'bar';
  const log2 = !bar && panel.xScale === 'log2';
  const cats = panel.categories ?? [];
  if (bar && cats.length === 0) throw new Error('svg-chart: a bar panel needs categories');
  const finite = panel.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = finite.map((p) => p.x).filter((x) => !log2 || x > 0);
  let xTicks: number[];
  let xMin: number;
  let xMax: number;
  if (bar) {
    xTicks = cats.map((_, i) => i);
    xMin = -0.5;
    xMax = cats.length - 0.5;
  } else {
    // reductions, not Math.min(...xs): a spread of 10^5+ points overflows the call stack
    const xMin0 = panel.xMin ?? (xs.length ? xs.reduce((m, v) => (v < m ? v : m), Infinity) : 1);
    const xMax0 = panel.xMax ?? (xs.length ? xs.reduce((m, v) => (v > m ? v : m), -Infinity) : 2);
    xTicks = panel.xTicks ?? (log2 ? log2Ticks(xMin0, xMax0) : niceTicks(xMax0));
    xMin = Math.min(xMin0, ...xTicks);
    xMax = Math.max(xMax0, ...xTicks);
  }
  const ends = finite.flatMap((p) => (hasInterval(p) ? [p.y, p.lo!, p.hi!] : [p.y]));
  const yMaxData = ends.reduce((m, v) => (v > m ? v : m), 0);
  const yMinData = ends.reduce((m, v) => (v < m ? v : m), 0);
  const yTicks = niceRange(Math.min(panel.yMin ?? 0, yMinData), panel.yMax ?? yMaxData);
  const yMin = yTicks[0]!;
  const yMax = yTicks[yTicks.length - 1]!;

  // Legend above the plot as a grid of equal-width columns (as many as fit), then the plot box.
  const swatch = 26;
  const gap = 18;
  const items = panel.series.map((s) => ({ s, w: swatch + 6 + textWidth(s.name, fs) }));
  const yLabelW = Math.max(...yTicks.map((t) => textWidth(tickLabel(t), fs))) + 10;
  const left = ox + fs * 1.6 + yLabelW + 6; // rotated y label + tick labels
  const right = ox + L.width - 16;
  const plotW = right - left;
  const colW = Math.max(0, ...items.map((it) => it.w));
  const fit = Math.max(1, Math.min(items.length, Math.floor((plotW + gap) / (colW + gap))));
  const nRows = Math.max(1, Math.ceil(items.length / fit));
  const cols = Math.max(1, Math.ceil(items.length / nRows)); // balanced rows: 5 items that fit 4 across → 3 + 2, not 4 + 1
  const rows = Array.from({ length: nRows }, (_, ri) => items.slice(ri * cols, (ri + 1) * cols));
  const titleH = panel.title ? fs * 1.9 : 0;
  const legendTop = oy + titleH + 4;
  const legendH = items.length ? rows.length * fs * 1.6 : 0;
  const top = legendTop + legendH + 8;
  const bottom = oy + L.height - fs * 3.4; // tick labels + x label
  const plotH = bottom - top;

  // A small inset keeps the end markers off the y axis and the right edge.
  const inset = bar ? 0 : Math.min(14, plotW * 0.04);
  const xPos = (x: number) => {
    const t = log2 ? (Math.log2(x) - Math.log2(xMin)) / (Math.log2(xMax) - Math.log2(xMin) || 1) : (x - xMin) / (xMax - xMin || 1);
    return left + inset + t * (plotW - 2 * inset);
  };
  const yPos = (y: number) => bottom - ((y - yMin) / (yMax - yMin || 1)) * plotH;

  const out: string[] = [`<g class="panel" data-panel="${panelIndex}" data-kind="${bar ? 'bar' : 'line'}">`];
  if (panel.title) {
    out.push(
      `<text class="panel-title" x="${c((left + right) / 2)}" y="${c(oy + fs * 1.3)}" text-anchor="middle" font-size="${fs + 2}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
  }
  // The plot area (a test can find it and look at its pixels).
  out.push(`<rect class="plot-area" x="${c(left)}" y="${c(top)}" width="${c(plotW)}" height="${c(plotH)}" fill="none"/>`);
  // Grid and ticks.
  out.push(`<g class="grid" stroke="#e3e3e3" stroke-width="1">`);
  for (const t of yTicks) out.push(`<line x1="${c(left)}" y1="${c(yPos(t))}" x2="${c(right)}" y2="${c(yPos(t))}"/>`);
  if (!bar) for (const t of xTicks) out.push(`<line x1="${c(xPos(t))}" y1="${c(top)}" x2="${c(xPos(t))}" y2="${c(bottom)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="axes" stroke="#333" stroke-width="1">`);
  out.push(`<line x1="${c(left)}" y1="${c(bottom)}" x2="${c(right)}" y2="${c(bottom)}"/>`);
  out.push(`<line x1="${c(left)}" y1="${c(top)}" x2="${c(left)}" y2="${c(bottom)}"/>`);
  if (yMin < 0) out.push(`<line class="zero-line" x1="${c(left)}" y1="${c(yPos(0))}" x2="${c(right)}" y2="${c(yPos(0))}" stroke="#777"/>`);
  for (const t of yTicks) out.push(`<line x1="${c(left - 5)}" y1="${c(yPos(t))}" x2="${c(left)}" y2="${c(yPos(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${c(xPos(t))}" y1="${c(bottom)}" x2="${c(xPos(t))}" y2="${c(bottom + 5)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="tick-labels" font-size="${fs}" fill="#333">`);
  for (const t of yTicks) {
    out.push(`<text x="${c(left - 8)}" y="${c(yPos(t) + fs * 0.35)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  const catFs = bar ? Math.min(fs, Math.max(8, (plotW / Math.max(1, cats.length)) / (0.62 * Math.max(1, ...cats.map((s) => s.length))))) : fs;
  for (const t of xTicks) {
    const label = bar ? escapeXml(cats[t]!) : tickLabel(t);
    out.push(`<text x="${c(xPos(t))}" y="${c(bottom + 8 + fs)}" text-anchor="middle"${bar ? ` font-size="${c(catFs)}"` : ''}>${label}</text>`);
  }
  out.push(`</g>`);
  // Axis labels.
  out.push(
    `<text class="axis-label x-label" x="${c((left + right) / 2)}" y="${c(oy + L.height - fs * 0.6)}" text-anchor="middle" font-size="${fs}">${escapeXml(panel.xLabel)}</text>`,
  );
  const ylx = ox + fs * 1.1;
  const yly = (top + bottom) / 2;
  out.push(
    `<text class="axis-label y-label" x="${c(ylx)}" y="${c(yly)}" text-anchor="middle" font-size="${fs}" transform="rotate(-90 ${c(ylx)} ${c(yly)})">${escapeXml(panel.yLabel)}</text>`,
  );
  // Series.
  const r = Math.max(3, fs * 0.32);
  const nSeries = panel.series.length;
  const slot = bar ? (plotW / Math.max(1, cats.length)) * 0.8 : 0;
  const barW = bar ? slot / Math.max(1, nSeries) : 0;
  panel.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const kind = MARKERS[i % MARKERS.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.x) && (!log2 || p.x > 0) && (!bar || (p.x >= 0 && p.x < cats.length)));
    const shown = pts.filter((p) => Number.isFinite(p.y));
    out.push(`<g class="series series-${i}" data-series="${escapeXml(s.name)}" data-points="${shown.length}">`);
    if (bar) {
      for (const p of shown) {
        const x0 = xPos(p.x) - slot / 2 + i * barW;
        const y0 = yPos(Math.max(0, p.y));
        const y1 = yPos(Math.min(0, p.y));
        out.push(
          `<rect class="bar" x="${c(x0)}" y="${c(y0)}" width="${c(Math.max(1, barW - 1))}" height="${c(Math.max(0, y1 - y0))}" fill="${color}" data-x="${dataNum(p.x)}" data-y="${dataNum(p.y)}"/>`,
        );
      }
      out.push(`</g>`);
      return;
    }
    // intervals first (under the line and markers)
    if (s.intervals === 'band') {
      let stretch: Point[] = [];
      const flush = () => {
        if (stretch.length) {
          const upper = stretch.map((p) => `${c(xPos(p.x))},${c(yPos(p.hi!))}`);
          const lower = [...stretch].reverse().map((p) => `${c(xPos(p.x))},${c(yPos(p.lo!))}`);
          out.push(`<polygon class="band" points="${[...upper, ...lower].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
        }
        stretch = [];
      };
      for (const p of pts) {
        if (hasInterval(p)) stretch.push(p);
        else flush();
      }
      flush();
    } else {
      for (const p of pts) {
        if (!hasInterval(p)) continue;
        const x = xPos(p.x);
        const w = r * 0.9;
        out.push(
          `<path class="errorbar" d="M${c(x)} ${c(yPos(p.lo!))}V${c(yPos(p.hi!))}M${c(x - w)} ${c(yPos(p.lo!))}H${c(x + w)}M${c(x - w)} ${c(yPos(p.hi!))}H${c(x + w)}" stroke="${color}" stroke-width="1.3" fill="none" data-lo="${dataNum(p.lo!)}" data-hi="${dataNum(p.hi!)}"/>`,
        );
      }
    }
    let d = '';
    let pen = false;
    for (const p of pts) {
      if (!Number.isFinite(p.y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${c(xPos(p.x))} ${c(yPos(p.y))} `;
      pen = true;
    }
    const dash = s.dash ? ` stroke-dasharray="${escapeXml(s.dash)}"` : '';
    out.push(
      `<path class="series-line" d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2.2" stroke-linejoin="round"${dash}/>`,
    );
    for (const p of shown) {
      out.push(marker(kind, xPos(p.x), yPos(p.y), r, color, 'marker', ` data-x="${dataNum(p.x)}" data-y="${dataNum(p.y)}"`));
    }
    out.push(`</g>`);
  });
  // Notes.
  if (panel.notes?.length) {
    out.push(`<g class="notes" font-size="${c(fs * 0.85)}" fill="#777">`);
    for (const n of panel.notes) {
      if (!Number.isFinite(n.x) || (log2 && n.x <= 0)) continue;
      const x = xPos(n.x);
      const y = bottom - 6;
      out.push(`<text class="note" x="${c(x)}" y="${c(y)}" text-anchor="start" transform="rotate(-90 ${c(x)} ${c(y)})">${escapeXml(n.text)}</text>`);
    }
    out.push(`</g>`);
  }
  // Legend.
  out.push(`<g class="legend" font-size="${fs}">`);
  const gridW = cols * colW + (cols - 1) * gap;
  rows.forEach((row, ri) => {
    let x = left + (plotW - gridW) / 2;
    const y = legendTop + ri * fs * 1.6 + fs * 0.8;
    for (const it of row) {
      const i = panel.series.indexOf(it.s);
      const color = it.s.color ?? PALETTE[i % PALETTE.length]!;
      if (bar) {
        out.push(`<rect class="legend-marker" x="${c(x + swatch / 2 - 6)}" y="${c(y - 6)}" width="12" height="12" fill="${color}"/>`);
      } else {
        const dash = it.s.dash ? ` stroke-dasharray="${escapeXml(it.s.dash)}"` : '';
        out.push(`<line x1="${c(x)}" y1="${c(y)}" x2="${c(x + swatch)}" y2="${c(y)}" stroke="${color}" stroke-width="2.2"${dash}/>`);
        out.push(marker(MARKERS[i % MARKERS.length]!, x + swatch / 2, y, r, color, 'legend-marker'));
      }
      out.push(`<text x="${c(x + swatch + 6)}" y="${c(y + fs * 0.35)}">${escapeXml(it.s.name)}</text>`);
      x += colW + gap;
    }
  });
  out.push(`</g>`);
  out.push(`</g>`);
  return out.join('\n');
}

/** A complete SVG document: optional title/subtitle, then the panels in one row. */
export function lineChart(opts: ChartOptions): string {
  if (!opts.panels.length) throw new Error('lineChart: at least one panel');
  const fs = opts.fontSize ?? 13;
  const pw = opts.panelWidth ?? 480;
  const ph = opts.panelHeight ?? 360;
  const subLines = opts.subtitle ? opts.subtitle.split('\n') : [];
  const headH = (opts.title ? fs * 2.2 : 0) + subLines.length * fs * 1.4 + (opts.title || subLines.length ? 6 : 0);
  const width = pw * opts.panels.length;
  const height = headH + ph;
  const attrs: string[] = [];
  if (opts.id) attrs.push(`id="${escapeXml(opts.id)}"`);
  if (opts.className) attrs.push(`class="${escapeXml(opts.className)}"`);
  for (const [k, v] of Object.entries(opts.data ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(k)) throw new Error(`lineChart: bad data attribute name '${k}'`);
    attrs.push(`data-${k}="${escapeXml(String(v))}"`);
  }
  if (opts.description) attrs.push('role="img"');
  const parts: string[] = [];
  if (opts.xmlDeclaration !== false) parts.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg"${attrs.length ? ` ${attrs.join(' ')}` : ''} width="${width}" height="${c(height)}" viewBox="0 0 ${width} ${c(height)}" font-family="${FONT}">`,
  );
  if (opts.description) parts.push(`<title>${escapeXml(opts.description)}</title>`);
  parts.push(`<rect width="100%" height="100%" fill="#fff"/>`);
  if (opts.title) {
    parts.push(
      `<text class="title" x="${width / 2}" y="${c(fs * 1.6)}" text-anchor="middle" font-size="${fs + 4}" font-weight="bold">${escapeXml(opts.title)}</text>`,
    );
  }
  subLines.forEach((line, i) => {
    const y = (opts.title ? fs * 2.2 : 0) + fs * 1.1 + i * fs * 1.4;
    parts.push(
      `<text class="subtitle" x="${width / 2}" y="${c(y)}" text-anchor="middle" font-size="${fs - 1}" fill="#555">${escapeXml(line)}</text>`,
    );
  });
  opts.panels.forEach((p, i) => parts.push(renderPanel(p, i * pw, headH, { width: pw, height: ph, fontSize: fs }, i)));
  parts.push(`</svg>`);
  return `${parts.join('\n')}\n`;
}
