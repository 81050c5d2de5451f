/**
 * A tiny, dependency-free SVG line chart for benchmark results: one or more panels side by side, each with a
 * linear or log2 x axis, a linear y axis from 0 with "nice" ticks (1, 2, 2.5, 5 × 10^k), axis labels, a legend
 * above the plot, and per series one `<path class="series-line">` plus one marker per finite point
 * (`class="marker"`; circle, square, triangle, diamond, down-triangle in turn, so series differ without colour too).
 * Points with a non-finite y are skipped (the line breaks there); nothing non-finite reaches the SVG.
 *
 *   writeFileSync('chart.svg', lineChart({ title: '…', panels: [{ title: 'forward', xLabel: 'G', yLabel: 'ms',
 *     xScale: 'log2', series: [{ name: 'GC', points: [{ x: 1, y: 10 }, { x: 2, y: 7 }] }] }] }));
 */

export interface Point {
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
  /** CSS colour; default from a colour-blind-friendly palette by series index. */
  color?: string;
  /** stroke-dasharray, e.g. '6 4'. */
  dash?: string;
}

export interface Panel {
  title?: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Default 'linear'. With 'log2' the x values must be > 0 and the ticks are the powers of two in range. */
  xScale?: 'linear' | 'log2';
  /** Explicit x ticks (default: powers of two for log2, nice ticks for linear). */
  xTicks?: number[];
  /** Upper end of the y axis (default: a nice number ≥ the largest y). The y axis always starts at 0. */
  yMax?: number;
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
}

export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];
const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'triangle-down'] as const;
const FONT = "DejaVu Sans, Helvetica, Arial, sans-serif";

/** Escape text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Ticks 0 … ≥ max with a step of 1, 2, 2.5 or 5 × 10^k, about `target` intervals. */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const n = Math.ceil(max / step - 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => round(i * step));
}

/** Powers of two from ⌊log2 min⌋ to ⌈log2 max⌉. */
export function log2Ticks(min: number, max: number): number[] {
  const lo = Math.floor(Math.log2(min));
  const hi = Math.ceil(Math.log2(max));
  return Array.from({ length: hi - lo + 1 }, (_, i) => 2 ** (lo + i));
}

function round(v: number): number {
  return Number.parseFloat(v.toPrecision(12));
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

function marker(kind: (typeof MARKERS)[number], x: number, y: number, r: number, color: string, cls: string): string {
  const common = `class="${cls}" fill="${color}" stroke="#fff" stroke-width="1"`;
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

function renderPanel(panel: Panel, ox: number, oy: number, L: Layout, panelIndex: number): string {
  const fs = L.fontSize;
  const log2 = panel.xScale === 'log2';
  const finite = panel.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = finite.map((p) => p.x).filter((x) => !log2 || x > 0);
  const xMin0 = xs.length ? Math.min(...xs) : 1;
  const xMax0 = xs.length ? Math.max(...xs) : 2;
  const xTicks = panel.xTicks ?? (log2 ? log2Ticks(xMin0, xMax0) : niceTicks(xMax0));
  const xMin = Math.min(xMin0, ...xTicks);
  const xMax = Math.max(xMax0, ...xTicks);
  const yMaxData = Math.max(0, ...finite.map((p) => p.y));
  const yTicks = niceTicks(panel.yMax ?? yMaxData);
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
  const nRows = Math.ceil(items.length / fit);
  const cols = Math.ceil(items.length / nRows); // balanced rows: 5 items that fit 4 across → 3 + 2, not 4 + 1
  const rows = Array.from({ length: nRows }, (_, ri) => items.slice(ri * cols, (ri + 1) * cols));
  const titleH = panel.title ? fs * 1.9 : 0;
  const legendTop = oy + titleH + 4;
  const legendH = rows.length * fs * 1.6;
  const top = legendTop + legendH + 8;
  const bottom = oy + L.height - fs * 3.4; // tick labels + x label
  const plotH = bottom - top;

  // A small inset keeps the end markers off the y axis and the right edge.
  const inset = Math.min(14, plotW * 0.04);
  const xPos = (x: number) => {
    const t = log2 ? (Math.log2(x) - Math.log2(xMin)) / (Math.log2(xMax) - Math.log2(xMin) || 1) : (x - xMin) / (xMax - xMin || 1);
    return left + inset + t * (plotW - 2 * inset);
  };
  const yPos = (y: number) => bottom - (y / yMax) * plotH;

  const out: string[] = [`<g class="panel" data-panel="${panelIndex}">`];
  if (panel.title) {
    out.push(
      `<text class="panel-title" x="${c((left + right) / 2)}" y="${c(oy + fs * 1.3)}" text-anchor="middle" font-size="${fs + 2}" font-weight="bold">${escapeXml(panel.title)}</text>`,
    );
  }
  // Grid and ticks.
  out.push(`<g class="grid" stroke="#e3e3e3" stroke-width="1">`);
  for (const t of yTicks) out.push(`<line x1="${c(left)}" y1="${c(yPos(t))}" x2="${c(right)}" y2="${c(yPos(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${c(xPos(t))}" y1="${c(top)}" x2="${c(xPos(t))}" y2="${c(bottom)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="axes" stroke="#333" stroke-width="1">`);
  out.push(`<line x1="${c(left)}" y1="${c(bottom)}" x2="${c(right)}" y2="${c(bottom)}"/>`);
  out.push(`<line x1="${c(left)}" y1="${c(top)}" x2="${c(left)}" y2="${c(bottom)}"/>`);
  for (const t of yTicks) out.push(`<line x1="${c(left - 5)}" y1="${c(yPos(t))}" x2="${c(left)}" y2="${c(yPos(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${c(xPos(t))}" y1="${c(bottom)}" x2="${c(xPos(t))}" y2="${c(bottom + 5)}"/>`);
  out.push(`</g>`);
  out.push(`<g class="tick-labels" font-size="${fs}" fill="#333">`);
  for (const t of yTicks) {
    out.push(`<text x="${c(left - 8)}" y="${c(yPos(t) + fs * 0.35)}" text-anchor="end">${tickLabel(t)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<text x="${c(xPos(t))}" y="${c(bottom + 8 + fs)}" text-anchor="middle">${tickLabel(t)}</text>`);
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
  panel.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const kind = MARKERS[i % MARKERS.length]!;
    const pts = s.points.filter((p) => Number.isFinite(p.x) && (!log2 || p.x > 0));
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
    out.push(`<g class="series" data-series="${escapeXml(s.name)}">`);
    out.push(
      `<path class="series-line" d="${d.trim()}" fill="none" stroke="${color}" stroke-width="2.2" stroke-linejoin="round"${dash}/>`,
    );
    for (const p of pts) if (Number.isFinite(p.y)) out.push(marker(kind, xPos(p.x), yPos(p.y), r, color, 'marker'));
    out.push(`</g>`);
  });
  // Legend.
  out.push(`<g class="legend" font-size="${fs}">`);
  const gridW = cols * colW + (cols - 1) * gap;
  rows.forEach((row, ri) => {
    let x = left + (plotW - gridW) / 2;
    const y = legendTop + ri * fs * 1.6 + fs * 0.8;
    for (const it of row) {
      const i = panel.series.indexOf(it.s);
      const color = it.s.color ?? PALETTE[i % PALETTE.length]!;
      const dash = it.s.dash ? ` stroke-dasharray="${escapeXml(it.s.dash)}"` : '';
      out.push(`<line x1="${c(x)}" y1="${c(y)}" x2="${c(x + swatch)}" y2="${c(y)}" stroke="${color}" stroke-width="2.2"${dash}/>`);
      out.push(marker(MARKERS[i % MARKERS.length]!, x + swatch / 2, y, r, color, 'legend-marker'));
      out.push(`<text x="${c(x + swatch + 6)}" y="${c(y + fs * 0.35)}">${escapeXml(it.s.name)}</text>`);
      x += colW + gap;
    }
  });
  out.push(`</g>`);
  out.push(`</g>`);
  return out.join('\n');
}

/** A complete standalone SVG document: optional title/subtitle, then the panels in one row. */
export function lineChart(opts: ChartOptions): string {
  if (!opts.panels.length) throw new Error('lineChart: at least one panel');
  const fs = opts.fontSize ?? 13;
  const pw = opts.panelWidth ?? 480;
  const ph = opts.panelHeight ?? 360;
  const subLines = opts.subtitle ? opts.subtitle.split('\n') : [];
  const headH = (opts.title ? fs * 2.2 : 0) + subLines.length * fs * 1.4 + (opts.title || subLines.length ? 6 : 0);
  const width = pw * opts.panels.length;
  const height = headH + ph;
  const parts: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${c(height)}" viewBox="0 0 ${width} ${c(height)}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
  ];
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
