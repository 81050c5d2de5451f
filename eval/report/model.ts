/**
 * The occlusion report's data model — what `report.json` holds and what bins.csv, report.md and report.html are
 * written from — and the number formatting the three text outputs share.
 *
 * Numbers are pycocotools' fractions (AP 0.453, not 45.3), −1 where COCOeval leaves a figure undefined (no
 * non-ignored ground truth); a subset without images has `stats: null`. The text outputs show AP in points
 * (×100, one decimal) as the paper does, "n/a" for −1 and "no images" for an empty subset; never NaN.
 */
import type { IouType, StatName } from '../cocoeval.js';
import type { OcclusionDefinition } from '../occlusion.js';

/** The AP figures of the per-subset tables (the paper's Fig. 7 uses AP and AP75). */
export const TABLE_STATS = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl'] as const satisfies readonly StatName[];
/** The figures that get bootstrap intervals (one accumulation setting: area 'all', maxDets 100). */
export const CI_STATS = ['AP', 'AP50', 'AP75'] as const satisfies readonly StatName[];
export type CiStat = (typeof CI_STATS)[number];
export type TableStat = (typeof TABLE_STATS)[number];

/**
 * A bootstrap interval [lo, hi], how many replicates defined it, and the bootstrap estimate of the figure's bias
 * (mean of the replicates − the figure).
 */
export interface CiValue {
  lo: number;
  hi: number;
  valid: number;
  bias?: number;
}

/** One model on one subset of images. */
export interface ModelCell {
  model: string;
  /** The 12 COCO stats on the subset's images (−1 = undefined); null when the subset has no images. */
  stats: Record<StatName, number> | null;
  /** Bootstrap intervals of AP, AP50, AP75; null without bootstrap or images (a stat is null when never defined). */
  ci: Record<CiStat, CiValue | null> | null;
  /** stat − baseline's stat for the AP figures, null where either is undefined; null for the baseline itself. */
  gap: Record<TableStat, number | null> | null;
  /** Paired-bootstrap intervals of the gaps of AP, AP50, AP75 (same resamples for both models). */
  gapCi: Record<CiStat, CiValue | null> | null;
}

/** A set of images: one bin, one cumulative level (r ≥ t) or all images. */
export interface SubsetRow {
  kind: 'bin' | 'level' | 'all';
  index: number;
  /** '[0.3, 0.4)', 'r ≥ 0.3' or 'all images'. */
  label: string;
  /** Range of r: [lo, hi) or [lo, hi] when `closed`. */
  lo: number;
  hi: number;
  closed: boolean;
  images: number;
  /** Non-crowd GT instances in these images (all categories). */
  instances: number;
  models: ModelCell[];
}

export interface ReportModel {
  name: string;
  /** The results file, or '<dataset>' when given in memory. */
  file: string;
  detections: number;
  /** The 12 printed pycocotools summary lines of the plain evaluation. */
  summary: string[];
  warnings: string[];
}

export interface OcclusionReport {
  format: 'tiedet-occlusion-report';
  version: 1;
  /** ISO date of the run. */
  created: string;
  gt: { file: string; images: number; instances: number; crowd: number; categories: number };
  iouType: IouType;
  definition: { name: OcclusionDefinition; formula: string; text: string };
  binning: { n: number; width: number };
  /** Basic bootstrap intervals [2θ̂ − q_hi, 2θ̂ − q_lo] over resamples of all images (eval/bootstrap.ts). */
  bootstrap: { replicates: number; seed: number | string; confidence: number; method: 'basic'; paired: true; stats: CiStat[] } | null;
  /** The first model; gaps are relative to it. */
  baseline: string;
  models: ReportModel[];
  /** The plain evaluation of all images (equals `tiedet eval`). */
  overall: SubsetRow;
  bins: SubsetRow[];
  levels: SubsetRow[];
  distribution: { mean: number; median: number; max: number; imagesWithTwoOrMore: number };
  /** Every image's ratio and bin. */
  images: { id: number; r: number; bin: number }[];
  /** Seconds spent per phase (not part of the analysis; differs between runs). */
  timing: Record<string, number>;
}

/** AP-like fraction → points with one decimal ('45.3'); 'n/a' for −1, '' for null/undefined. */
export function fmtPoints(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  if (v < 0) return 'n/a';
  return (100 * v).toFixed(1);
}

/** A signed gap in points ('+2.8', '−0.7', '0.0'); '' for null. */
export function fmtGap(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '';
  const s = (100 * Math.abs(v)).toFixed(1);
  if (s === '0.0') return '0.0';
  return `${v > 0 ? '+' : '−'}${s}`;
}

/** An interval in points: '[43.1, 47.0]' ('' for null). `signed` formats both ends as gaps. */
export function fmtInterval(ci: CiValue | null | undefined, signed = false): string {
  if (!ci) return '';
  const f = signed ? fmtGap : fmtPoints;
  return `[${f(ci.lo)}, ${f(ci.hi)}]`;
}

/** A ratio in [0, 1] with 3 decimals. */
export function fmtRatio(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : '';
}

/** x position of a subset on the occlusion axis: a bin's centre, a level's threshold. */
export function subsetX(row: SubsetRow): number {
  return row.kind === 'bin' ? (row.lo + row.hi) / 2 : row.lo;
}
