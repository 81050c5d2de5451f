/**
 * The filter-similarity report (PAPER.md Fig. 1 / 9): given, per model, the per-stage pairwise cosine
 * similarities of src/analysis/backbone-filters.ts (guided-backpropagation patterns, and the weight-space view),
 * histograms (density against cosine similarity, model against model, one panel per stage), summary statistics
 * per stage, and the files: report.json (every similarity), report.md and report.html (one self-contained page,
 * inline SVG from eval/report/svg-chart.ts, no script, no external request).
 *
 * Pure TypeScript on numbers (the eval room has no TF.js): the tensors stay in src/analysis/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeXml as esc, lineChart, type Panel } from './report/svg-chart.js';

export type SimilarityView = 'guided' | 'weights';
export const VIEWS: readonly SimilarityView[] = ['guided', 'weights'];

export interface FilterStageInput {
  stage: string;
  channels: number;
  filters: number[];
  guided: number[];
  guidedUndefinedPairs: number;
  weights: number[];
  weightTensors: { name: string; shape: number[] }[];
}

export interface FilterModelInput {
  name: string;
  /** The weights file (or a description such as 'random init, seed 0'). */
  source: string;
  images: number;
  seconds: number;
  stages: FilterStageInput[];
}

export interface SimilaritySummary {
  pairs: number;
  mean: number;
  median: number;
  /** Share of pairs with cosine similarity above 0.5 (strongly similar filters). */
  above05: number;
  /** Mean |cos|. */
  meanAbs: number;
}

export interface FilterReport {
  format: 'tiedet-filter-report';
  version: 1;
  created: string;
  /** How the sample was drawn, in words (shown on the page). */
  sample: string;
  /** Histogram bin width on [−1, 1]. */
  binWidth: number;
  models: (FilterModelInput & { summary: Record<string, Record<SimilarityView, SimilaritySummary | null>> })[];
}

/** Mean, median, share above 0.5 and mean |cos| of similarities; null when there are none. */
export function summarize(values: readonly number[]): SimilaritySummary | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const n = sorted.length;
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  let sum = 0;
  let abs = 0;
  let above = 0;
  for (const v of sorted) {
    sum += v;
    abs += Math.abs(v);
    if (v > 0.5) above++;
  }
  return { pairs: n, mean: sum / n, median, above05: above / n, meanAbs: abs / n };
}

/** Density histogram on [−1, 1] with bins of `width` (the last bin closed): bin centres and densities (∫ = 1). */
export function densityHistogram(values: readonly number[], width = 0.05): { x: number; density: number }[] {
  const bins = Math.round(2 / width);
  if (!(bins >= 1) || Math.abs(bins * width - 2) > 1e-9) throw new RangeError(`densityHistogram: width must divide 2, got ${width}`);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    if (!(v >= -1 && v <= 1)) throw new RangeError(`densityHistogram: value ${v} outside [−1, 1]`);
    counts[Math.min(bins - 1, Math.floor((v + 1) / width))]++;
  }
  const n = values.length || 1;
  return counts.map((c, i) => ({ x: -1 + (i + 0.5) * width, density: c / (n * width) }));
}

export function buildFilterReport(models: FilterModelInput[], sample: string, binWidth = 0.05): FilterReport {
  if (!models.length) throw new Error('buildFilterReport: no models');
  const names = new Set<string>();
  for (const m of models) {
    if (names.has(m.name)) throw new Error(`buildFilterReport: model name '${m.name}' given twice`);
    names.add(m.name);
  }
  return {
    format: 'tiedet-filter-report',
    version: 1,
    created: new Date().toISOString(),
    sample,
    binWidth,
    models: models.map((m) => ({
      ...m,
      summary: Object.fromEntries(m.stages.map((s) => [s.stage, { guided: summarize(s.guided), weights: summarize(s.weights) }])),
    })),
  };
}

function stagesOf(r: FilterReport): string[] {
  const out: string[] = [];
  for (const m of r.models) for (const s of m.stages) if (!out.includes(s.stage)) out.push(s.stage);
  return out;
}

const VIEW_TITLE: Record<SimilarityView, string> = {
  guided: 'Guided-backpropagation patterns',
  weights: 'Filter weights',
};

/** One SVG per view: a panel per stage, a density line per model. */
export function filterCharts(r: FilterReport): { view: SimilarityView; svg: string }[] {
  const stages = stagesOf(r);
  return VIEWS.map((view) => {
    const panels: Panel[] = stages.map((stage) => ({
      title: stage.toUpperCase(),
      xLabel: 'cosine similarity',
      yLabel: 'density',
      xMin: -1,
      xMax: 1,
      xTicks: [-1, -0.5, 0, 0.5, 1],
      series: r.models.flatMap((m) => {
        const s = m.stages.find((t) => t.stage === stage);
        if (!s) return [];
        const vals = view === 'guided' ? s.guided : s.weights;
        // Untrained references (`--weights init`) dashed.
        const dash = m.source.startsWith('untrained') ? '5 4' : undefined;
        return [{ name: m.name, dash, points: densityHistogram(vals, r.binWidth).map((b) => ({ x: b.x, y: b.density })) }];
      }),
    }));
    const svg = lineChart({
      panels,
      title: `${VIEW_TITLE[view]}: pairwise cosine similarity of a stage's filters`,
      panelWidth: 290,
      // room for the legend (one line per model above the plot once there are more than two)
      panelHeight: 260 + 18 * Math.max(0, r.models.length - 2),
      fontSize: 12,
      xmlDeclaration: false,
      id: `hist-${view}`,
      description: `Density of pairwise cosine similarity (${view}) per stage, one line per model`,
    });
    return { view, svg };
  });
}

function fmt(v: number | undefined, d = 3): string {
  return v === undefined || !Number.isFinite(v) ? '' : v.toFixed(d);
}

/** Rows: stage × view; columns: per model mean, median, share > 0.5, pairs. */
function summaryRows(r: FilterReport): { header: string[]; rows: string[][] } {
  const header = ['stage', 'view', ...r.models.flatMap((m) => [`${m.name} mean`, `${m.name} median`, `${m.name} > 0.5`, `${m.name} pairs`])];
  const rows: string[][] = [];
  for (const stage of stagesOf(r)) {
    for (const view of VIEWS) {
      rows.push([
        stage.toUpperCase(),
        view,
        ...r.models.flatMap((m) => {
          const s = m.summary[stage]?.[view];
          return s ? [fmt(s.mean), fmt(s.median), `${(100 * s.above05).toFixed(1)} %`, String(s.pairs)] : ['', '', '', ''];
        }),
      ]);
    }
  }
  return { header, rows };
}

const CSS = `
body { margin: 0; background: #f6f6f4; color: #222; font: 15px/1.45 "DejaVu Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1220px; margin: 0 auto; padding: 18px 24px 40px; background: #fff; }
h1 { font-size: 24px; margin: 6px 0 10px; }
h2 { font-size: 18px; margin: 26px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 3px; }
figure { margin: 10px 0 4px; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption, .note { color: #555; font-size: 13.5px; margin: 4px 0 8px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13.5px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 9px; border-bottom: 1px solid #e4e4e0; text-align: right; white-space: nowrap; }
th { background: #f0f0ec; font-weight: 600; }
td:first-child, td:nth-child(2), th:first-child { text-align: left; }
footer { margin-top: 28px; color: #777; font-size: 12.5px; }
`;

export function filterReportHtml(r: FilterReport): string {
  const names = r.models.map((m) => m.name).join(' vs ');
  const { header, rows } = summaryRows(r);
  const parts = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Filter similarity — ${esc(names)}</title>`,
    '<link rel="icon" href="data:,">',
    `<style>${CSS}</style>`,
    '</head>',
    '<body><main>',
    `<h1>Filter similarity: ${esc(names)}</h1>`,
    '<p>As in the paper\'s Fig. 1 / 9: for each stage, the pairwise cosine similarity of its filters. A mass near 0 means ' +
      'filters that respond to different things; a mass towards 1 means redundant filters.</p>',
    '<ul>',
    '<li><b>Guided-backpropagation view</b>: each sampled filter\'s guided-backpropagation pattern (Springenberg et al. 2014: ' +
      'the gradient of the sum of its activation map with respect to the input image, passing only positive gradients ' +
      'through ReLUs whose input was positive) on each image; cosine similarity per pair of filters on each image, averaged over the images.</li>',
    '<li><b>Weight view</b>: cosine similarity of the flattened filters of every conv weight of the stage, pooled ' +
      '(a tied block convolution is compared on its stored, shared filters).</li>',
    '</ul>',
    `<p class="note">Sample: ${esc(r.sample)}</p>`,
    '<ul>',
    ...r.models.map(
      (m) => `<li><b>${esc(m.name)}</b>: ${esc(m.source)} — ${m.images} images, ${m.stages.map((s) => `${s.stage.toUpperCase()} ${s.filters.length}/${s.channels} filters`).join(', ')}; ${m.seconds.toFixed(0)} s</li>`,
    ),
    '</ul>',
  ];
  for (const ch of filterCharts(r)) {
    parts.push(
      `<figure id="figure-${ch.view}">`,
      `<h2>${esc(VIEW_TITLE[ch.view])}</h2>`,
      ch.svg.trim(),
      `<figcaption>Density of pairwise cosine similarity per stage (bins of ${r.binWidth}); one line per model.</figcaption>`,
      '</figure>',
    );
  }
  parts.push('<section id="summary"><h2>Per stage</h2><div class="table-wrap"><table>');
  parts.push(`<thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`);
  for (const row of rows) parts.push(`<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`);
  parts.push('</tbody></table></div>');
  const undefinedNotes = r.models.flatMap((m) => m.stages.filter((s) => s.guidedUndefinedPairs > 0).map((s) => `${m.name} ${s.stage.toUpperCase()}: ${s.guidedUndefinedPairs}`));
  if (undefinedNotes.length) {
    parts.push(`<p class="note">Pairs left out of the guided view because a filter never fired on any image (zero pattern): ${esc(undefinedNotes.join('; '))}.</p>`);
  }
  parts.push('</section>');
  parts.push(`<footer>Written by tiedet analyze-filters on ${esc(r.created)}. Numbers: report.json.</footer>`);
  parts.push('</main></body>', '</html>', '');
  return parts.join('\n');
}

export function filterReportMarkdown(r: FilterReport): string {
  const { header, rows } = summaryRows(r);
  return [
    `# Filter similarity: ${r.models.map((m) => m.name).join(' vs ')}`,
    '',
    `Sample: ${r.sample}`,
    '',
    ...r.models.map((m) => `- **${m.name}**: ${m.source} (${m.images} images, ${m.seconds.toFixed(0)} s)`),
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
    '',
  ].join('\n');
}

export interface WrittenFilterReport {
  json: string;
  markdown: string;
  html: string;
}

/** Writes report.json, report.md and report.html into `dir` (created if needed). */
export function writeFilterReport(r: FilterReport, dir: string): WrittenFilterReport {
  mkdirSync(dir, { recursive: true });
  const paths = { json: join(dir, 'report.json'), markdown: join(dir, 'report.md'), html: join(dir, 'report.html') };
  writeFileSync(paths.json, `${JSON.stringify(r)}\n`);
  writeFileSync(paths.markdown, filterReportMarkdown(r));
  writeFileSync(paths.html, filterReportHtml(r));
  return paths;
}
