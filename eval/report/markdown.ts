/**
 * report.md of the occlusion report: the run's setting, how r is defined, and the tables of eval/report/tables.ts
 * as GitHub-flavoured Markdown (charts are in report.html).
 */
import type { OcclusionReport } from './model.js';
import { reportTables, type ReportTable } from './tables.js';

/** Escapes the characters that would break a Markdown table cell. */
function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function markdownTable(t: ReportTable): string {
  const lines = [`| ${t.header.map(mdCell).join(' | ')} |`];
  lines.push(`| ${t.header.map((_, j) => (j === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const row of t.rows) lines.push(`| ${row.map((c) => mdCell(c.text)).join(' | ')} |`);
  return lines.join('\n');
}

/** Why the intervals are not centred on the figures (shared with the HTML report). */
export const BIAS_NOTE =
  'COCO AP computed on a finite set of images is biased upward, the more so the fewer the images (the interpolated ' +
  'precision is a running maximum of noisy precisions), so resampled APs sit above the measured one; the basic ' +
  'interval corrects for that and may lie mostly below a small bin\'s AP. Compare models by the paired gap, where ' +
  'the bias cancels.';

/** The setting of a run in a few sentences (shared with the HTML header). */
export function settingLines(report: OcclusionReport): string[] {
  const g = report.gt;
  const b = report.bootstrap;
  return [
    `Ground truth: ${g.file} — ${g.images} images, ${g.instances} non-crowd instances (${g.crowd} crowd), ${g.categories} categories.`,
    `Evaluation: COCO ${report.iouType} (pycocotools-identical numbers).`,
    `Models: ${report.models.map((m, i) => `${m.name}${i === 0 ? ' (baseline)' : ''} — ${m.file}`).join('; ')}.`,
    `Bins: ${report.binning.n} of width ${String(Number.parseFloat(report.binning.width.toFixed(6)))} (the last one closed), and the cumulative levels r ≥ t.`,
    b
      ? `Bootstrap: ${b.replicates} resamples of all images with replacement (seed ${String(b.seed)}), each subset's ${b.stats.join(', ')} recomputed on the drawn images in it; ${Math.round(b.confidence * 100)} % basic bootstrap intervals [2·AP − q${(50 + b.confidence * 50).toFixed(1)}, 2·AP − q${(50 - b.confidence * 50).toFixed(1)}]; gaps use the same resamples for all models. ${BIAS_NOTE}`
      : 'Bootstrap: off.',
  ];
}

export function reportMarkdown(report: OcclusionReport): string {
  const d = report.definition;
  const out: string[] = [
    `# Occlusion report (${report.iouType})`,
    '',
    ...settingLines(report).map((l) => `- ${l}`),
    '',
    '## How the occlusion ratio r is defined',
    '',
    `Definition \`${d.name}\`: \`${d.formula}\` — ${d.text}`,
    '',
    `Distribution over the images: mean ${report.distribution.mean.toFixed(3)}, median ${report.distribution.median.toFixed(3)}, ` +
      `max ${report.distribution.max.toFixed(3)}; ${report.distribution.imagesWithTwoOrMore} images have two or more instances.`,
    '',
  ];
  for (const t of reportTables(report)) {
    out.push(`## ${t.title}`, '');
    if (t.note) out.push(t.note, '');
    out.push(markdownTable(t), '');
  }
  out.push(`Written by tiedet occlusion-report on ${report.created}.`, '');
  return out.join('\n');
}
