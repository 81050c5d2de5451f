/**
 * The occlusion report's tables, once, for both report.md and report.html: the overall COCO table per model, the
 * histogram of images per bin, AP and AP75 per bin and per cumulative level for every model with the gap to the
 * baseline, and all AP figures per subset for each model. A cell keeps its text (AP in points, "45.3 [43.1, 47.0]"
 * with a bootstrap interval, "n/a" for an undefined figure, "no images" for an empty subset) and, for numbers, the
 * report.json value it shows and a key naming it (`bin:3|ResNet50|AP`, `level:0|TiedResNet50|gap:AP75`), which
 * report.html writes as data attributes so the numbers can be checked against report.json.
 */
import { STAT_NAMES, type StatName } from '../cocoeval.js';
import {
  CI_STATS,
  fmtGap,
  fmtInterval,
  fmtPoints,
  TABLE_STATS,
  type CiStat,
  type ModelCell,
  type OcclusionReport,
  type SubsetRow,
  type TableStat,
} from './model.js';

export interface TableCell {
  text: string;
  /** The report.json number shown (a fraction; −1 = undefined). */
  value?: number | null;
  /** `kind:index|model|stat` or `kind:index|model|gap:stat`. */
  key?: string;
  /** Left-aligned (labels) instead of right-aligned (numbers). */
  label?: boolean;
}

export interface ReportTable {
  id: string;
  title: string;
  /** One sentence above the table (optional). */
  note?: string;
  header: string[];
  rows: TableCell[][];
}

export function rowKey(row: SubsetRow): string {
  return `${row.kind}:${row.index}`;
}

const isCi = (s: StatName): s is CiStat => (CI_STATS as readonly string[]).includes(s);

function statCell(row: SubsetRow, cell: ModelCell, stat: StatName): TableCell {
  const key = `${rowKey(row)}|${cell.model}|${stat}`;
  if (!cell.stats) return { text: 'no images', key, value: null };
  const v = cell.stats[stat];
  const ci = isCi(stat) ? cell.ci?.[stat] : undefined;
  return { text: v >= 0 && ci ? `${fmtPoints(v)} ${fmtInterval(ci)}` : fmtPoints(v), key, value: v };
}

function gapCell(row: SubsetRow, cell: ModelCell, stat: TableStat): TableCell {
  const key = `${rowKey(row)}|${cell.model}|gap:${stat}`;
  if (!cell.stats) return { text: 'no images', key, value: null };
  const g = cell.gap?.[stat] ?? null;
  if (g === null) return { text: 'n/a', key, value: null };
  const ci = isCi(stat) ? cell.gapCi?.[stat] : undefined;
  return { text: ci ? `${fmtGap(g)} ${fmtInterval(ci, true)}` : fmtGap(g), key, value: g };
}

function labelCell(text: string): TableCell {
  return { text, label: true };
}

export function reportTables(report: OcclusionReport): ReportTable[] {
  const tables: ReportTable[] = [];
  const names = report.models.map((m) => m.name);
  const others = report.models.slice(1).map((m) => m.name);
  const ciNote = report.bootstrap
    ? ` Brackets: ${Math.round(report.bootstrap.confidence * 100)} % basic bootstrap intervals of AP, AP50 and AP75 (${report.bootstrap.replicates} resamples; gaps paired).`
    : '';

  tables.push({
    id: 'overall',
    title: 'Overall (all images): the plain COCO evaluation',
    note: `AP in points (×100); pycocotools' numbers.${ciNote}`,
    header: ['model', 'detections', ...STAT_NAMES],
    rows: report.models.map((m, i) => [
      labelCell(m.name),
      { text: String(m.detections) },
      ...STAT_NAMES.map((s) => statCell(report.overall, report.overall.models[i]!, s)),
    ]),
  });

  tables.push({
    id: 'histogram',
    title: 'Images per occlusion bin',
    header: ['bin', 'images', 'share', 'instances', 'instances / image'],
    rows: report.bins.map((b) => [
      labelCell(b.label),
      { text: String(b.images), key: `${rowKey(b)}|images`, value: b.images },
      { text: report.gt.images ? `${((100 * b.images) / report.gt.images).toFixed(1)} %` : '' },
      { text: String(b.instances), key: `${rowKey(b)}|instances`, value: b.instances },
      { text: b.images ? (b.instances / b.images).toFixed(1) : 'no images' },
    ]),
  });

  for (const [rows, what] of [[report.bins, 'bin'], [report.levels, 'level']] as const) {
    for (const stat of ['AP', 'AP75'] as const) {
      tables.push({
        id: `${stat.toLowerCase()}-${what}s`,
        title: `${stat} per ${what === 'bin' ? 'occlusion bin' : 'cumulative level (images with r ≥ t)'}`,
        note: others.length ? `Gap = model − ${report.baseline} on the same images.` : undefined,
        header: [what === 'bin' ? 'bin' : 'level', 'images', 'instances', ...names, ...others.map((n) => `${n} − ${report.baseline}`)],
        rows: rows.map((row) => [
          labelCell(row.label),
          { text: String(row.images) },
          { text: String(row.instances) },
          ...row.models.map((c) => statCell(row, c, stat)),
          ...row.models.slice(1).map((c) => gapCell(row, c, stat)),
        ]),
      });
    }
  }

  report.models.forEach((m, i) => {
    tables.push({
      id: `model-${i}`,
      title: `${m.name}: all AP figures per subset`,
      header: ['subset', 'images', ...TABLE_STATS],
      rows: [report.overall, ...report.bins, ...report.levels].map((row) => [
        labelCell(row.label),
        { text: String(row.images) },
        ...TABLE_STATS.map((s) => statCell(row, row.models[i]!, s)),
      ]),
    });
  });
  return tables;
}
