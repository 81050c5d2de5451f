/**
 * The occlusion report's SVG charts (eval/report/svg-chart.ts), in the style of the paper's Fig. 7:
 *  - `ap` / `ap75`: AP (AP75) against the occlusion ratio, one series per model, left panel per bin (x = bin
 *    centre), right panel per cumulative level r ≥ t (x = t); bootstrap intervals as whiskers;
 *  - `gap`: each model's AP and AP75 minus the baseline's (the first model) per bin, with paired-bootstrap
 *    whiskers and a zero line (only with two or more models);
 *  - `histogram`: images and instances per bin (bars).
 * Empty bins get no point and a "no images" note; undefined figures (−1) get none and an "n/a" note — no NaN ever
 * reaches the SVG. Values are in AP points (×100). Each chart is an inline `<svg class="chart" data-chart="…">`.
 */
import { subsetX, type CiStat, type OcclusionReport, type SubsetRow } from './model.js';
import { lineChart, niceTicks, PALETTE, type Note, type Panel, type Series } from './svg-chart.js';

export interface ReportChart {
  id: 'ap' | 'ap75' | 'gap' | 'histogram';
  title: string;
  /** One sentence under the chart. */
  caption: string;
  svg: string;
}

const PANEL_W = 560;
const PANEL_H = 390;

function xTicks(n: number): number[] {
  return n <= 10 ? Array.from({ length: n + 1 }, (_, k) => Number.parseFloat((k / n).toFixed(6))) : niceTicks(1);
}

/** Horizontal offset of series i of m, so that whiskers of different models do not overlap. */
function dodge(i: number, m: number, n: number): number {
  return m > 1 ? ((i - (m - 1) / 2) * 0.12) / n / Math.max(1, m - 1) : 0;
}

function statPanel(report: OcclusionReport, rows: SubsetRow[], stat: CiStat, title: string, xLabel: string): Panel {
  const n = report.binning.n;
  const M = report.models.length;
  const series: Series[] = report.models.map((m, i) => ({
    name: m.name,
    points: rows.map((row) => {
      const cell = row.models[i]!;
      const v = cell.stats?.[stat];
      const ci = cell.ci?.[stat];
      const y = v !== undefined && v >= 0 ? 100 * v : Number.NaN;
      return { x: subsetX(row) + dodge(i, M, n), y, lo: ci ? 100 * ci.lo : undefined, hi: ci ? 100 * ci.hi : undefined };
    }),
  }));
  return { title, xLabel, yLabel: `${stat} (points)`, series, xTicks: xTicks(n), xMin: 0, xMax: 1, notes: missingNotes(rows) };
}

function missingNotes(rows: SubsetRow[]): Note[] {
  const notes: Note[] = [];
  for (const row of rows) {
    if (row.images === 0) notes.push({ x: subsetX(row), text: 'no images' });
    else if (row.models.every((c) => !c.stats || c.stats.AP < 0)) notes.push({ x: subsetX(row), text: 'n/a (no GT)' });
  }
  return notes;
}

function gapPanel(report: OcclusionReport, stat: 'AP' | 'AP75'): Panel {
  const n = report.binning.n;
  const M = report.models.length;
  const series: Series[] = report.models.slice(1).map((m, i0) => {
    const i = i0 + 1;
    return {
      name: `${m.name} − ${report.baseline}`,
      color: PALETTE[i % PALETTE.length], // the model's colour in the AP charts
      points: report.bins.map((row) => {
        const cell = row.models[i]!;
        const g = cell.gap?.[stat];
        const ci = cell.gapCi?.[stat];
        return {
          x: subsetX(row) + dodge(i0, M - 1, n),
          y: g === null || g === undefined ? Number.NaN : 100 * g,
          lo: ci ? 100 * ci.lo : undefined,
          hi: ci ? 100 * ci.hi : undefined,
        };
      }),
    };
  });
  return {
    title: `${stat} gap per bin`,
    xLabel: 'occlusion ratio r (bin centre)',
    yLabel: `${stat} gap (points)`,
    series,
    xTicks: xTicks(n),
    xMin: 0,
    xMax: 1,
    notes: missingNotes(report.bins),
  };
}

/** Short bin label for a bar chart axis: '0.3–0.4'. */
function shortBinLabel(row: SubsetRow): string {
  const f = (v: number) => String(Number.parseFloat(v.toFixed(3)));
  return `${f(row.lo)}–${f(row.hi)}`;
}

export function reportCharts(report: OcclusionReport): ReportChart[] {
  const charts: ReportChart[] = [];
  const ci = report.bootstrap
    ? ` Whiskers: ${Math.round(report.bootstrap.confidence * 100)} % basic bootstrap intervals (${report.bootstrap.replicates} resamples of the images; bias-corrected, so they may sit below a small bin's AP).`
    : '';
  const svgOpts = (id: string, description: string) => ({
    xmlDeclaration: false,
    className: 'chart',
    data: { chart: id },
    description,
    panelWidth: PANEL_W,
    panelHeight: PANEL_H,
  });
  for (const [id, stat] of [['ap', 'AP'], ['ap75', 'AP75']] as const) {
    const label = stat === 'AP' ? 'AP@[.5:.95]' : 'AP75';
    charts.push({
      id,
      title: `${label} vs occlusion ratio`,
      caption: `${label} of each model on the images of each occlusion bin (left) and of each cumulative level r ≥ t (right).${ci}`,
      svg: lineChart({
        ...svgOpts(id, `${label} against the occlusion ratio, one line per model`),
        panels: [
          statPanel(report, report.bins, stat, `${stat} per bin`, 'occlusion ratio r (bin centre)'),
          statPanel(report, report.levels, stat, `${stat} on images with r ≥ t`, 'threshold t'),
        ],
      }),
    });
  }
  if (report.models.length > 1) {
    charts.push({
      id: 'gap',
      title: `Gap to the baseline (${report.baseline})`,
      caption: `Each model's AP and AP75 minus ${report.baseline}'s on the same images, per bin.${report.bootstrap ? ' Whiskers: paired bootstrap intervals (the same resamples for both models).' : ''}`,
      svg: lineChart({ ...svgOpts('gap', `AP and AP75 gap to ${report.baseline} per occlusion bin`), panels: [gapPanel(report, 'AP'), gapPanel(report, 'AP75')] }),
    });
  }
  const cats = report.bins.map(shortBinLabel);
  charts.push({
    id: 'histogram',
    title: 'Images per occlusion bin',
    caption: 'How many images (left) and non-crowd ground-truth instances (right) fall into each bin.',
    svg: lineChart({
      ...svgOpts('histogram', 'Histogram of images and instances per occlusion bin'),
      panels: [
        { kind: 'bar', title: 'images', xLabel: 'occlusion ratio r', yLabel: 'images', categories: cats, series: [{ name: 'images', points: report.bins.map((b, k) => ({ x: k, y: b.images })) }] },
        {
          kind: 'bar',
          title: 'instances',
          xLabel: 'occlusion ratio r',
          yLabel: 'instances',
          categories: cats,
          series: [{ name: 'instances', color: '#009E73', points: report.bins.map((b, k) => ({ x: k, y: b.instances })) }],
        },
      ],
    }),
  });
  return charts;
}
