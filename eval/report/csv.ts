/**
 * bins.csv of the occlusion report: one row per subset (all images, each bin, each cumulative level) and model,
 * with the 12 COCO stats, the bootstrap intervals, the gaps to the baseline and their intervals. Numbers are
 * full-precision fractions as in report.json; an undefined figure (−1, or a subset without images) is an empty
 * cell, never NaN. RFC 4180 quoting (labels such as "[0.3, 0.4)" contain a comma).
 */
import { STAT_NAMES } from '../cocoeval.js';
import { CI_STATS, TABLE_STATS, type OcclusionReport, type SubsetRow } from './model.js';

export const CSV_HEADER: readonly string[] = [
  'kind', 'index', 'label', 'r_lo', 'r_hi', 'images', 'instances', 'model',
  ...STAT_NAMES,
  ...CI_STATS.flatMap((s) => [`${s}_ci_lo`, `${s}_ci_hi`]),
  ...TABLE_STATS.map((s) => `gap_${s}`),
  ...CI_STATS.flatMap((s) => [`gap_${s}_ci_lo`, `gap_${s}_ci_hi`]),
];

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function num(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) || v < 0 ? '' : String(v);
}

function signed(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '' : String(v);
}

function rowsOf(report: OcclusionReport): SubsetRow[] {
  return [report.overall, ...report.bins, ...report.levels];
}

export function reportCsv(report: OcclusionReport): string {
  const lines = [CSV_HEADER.join(',')];
  for (const row of rowsOf(report)) {
    for (const cell of row.models) {
      const f: string[] = [row.kind, String(row.index), row.label, String(row.lo), String(row.hi), String(row.images),
        String(row.instances), cell.model];
      for (const s of STAT_NAMES) f.push(num(cell.stats?.[s]));
      for (const s of CI_STATS) f.push(signed(cell.ci?.[s]?.lo), signed(cell.ci?.[s]?.hi));
      for (const s of TABLE_STATS) f.push(signed(cell.gap?.[s]));
      for (const s of CI_STATS) f.push(signed(cell.gapCi?.[s]?.lo), signed(cell.gapCi?.[s]?.hi));
      lines.push(f.map(csvField).join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Parses CSV text written by {@link reportCsv} (or any RFC 4180 CSV) into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += ch;
    }
  }
  if (field.length > 0 || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
