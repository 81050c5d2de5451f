/**
 * The occlusion analysis of the paper's Fig. 7 as a library call: per-image occlusion ratio (eval/occlusion.ts),
 * bins and cumulative levels (eval/occlusion-bins.ts), COCO evaluation of every model on every subset, bootstrap
 * intervals (eval/bootstrap.ts), and the report files (eval/report/).
 *
 *   const report = buildOcclusionReport({ gt: 'instances_val2017.json', iouType: 'bbox',
 *     results: [{ name: 'ResNet50', file: 'r50.json' }, { name: 'TiedResNet50', file: 'tied.json' }] });
 *   writeOcclusionReport(report, 'work_dirs/occlusion');   // report.json, bins.csv, report.md, report.html
 *
 * Each model is evaluated once (`CocoEval.evaluate()`); every subset is then an accumulation of that one
 * evaluation (`summaryStats({ imgIds })` = `summarize(accumulate({ imgIds }))` without keeping the arrays), which
 * equals a fresh evaluation restricted to the subset's images (pycocotools' numbers). The level r ≥ 0 holds every
 * image, so it shares the overall row's numbers.
 *
 * Bootstrap: B times, draw as many images as the ground truth has, with replacement, and recompute every subset's
 * AP, AP50 and AP75 on the drawn images that fall into it (a bin's size varies from resample to resample, as it
 * would with a new sample of images); the same draws serve every model, so the gaps are paired. The figures come
 * from `CocoEval.apResampler` — one accumulation setting instead of twelve, one pass over the detections that can
 * change a precision for all subsets at once — and equal `accumulate({ imgCounts })` on the drawn multiset. The
 * intervals are basic bootstrap intervals (eval/bootstrap.ts): COCO AP on a finite set of images is biased upward,
 * more so in small bins, and the replicates measure that bias (reported as `bias`); a percentile interval would sit
 * above the figure. The paired gaps are nearly unbiased (the bias cancels between models).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrap as runBootstrap } from './bootstrap.js';
import { CocoDataset, CocoFormatError } from './coco.js';
import { CocoEval, STAT_NAMES, type IouType, type StatName } from './cocoeval.js';
import { assignBins, makeBins, occlusionDistribution } from './occlusion-bins.js';
import { imageOcclusionRatios, OCCLUSION_DEFINITION_TEXT, OCCLUSION_DEFINITIONS, type OcclusionDefinition } from './occlusion.js';
import { reportCsv } from './report/csv.js';
import { reportHtml } from './report/html.js';
import { reportMarkdown } from './report/markdown.js';
import {
  CI_STATS,
  TABLE_STATS,
  type CiStat,
  type CiValue,
  type ModelCell,
  type OcclusionReport,
  type ReportModel,
  type SubsetRow,
  type TableStat,
} from './report/model.js';

export type { OcclusionReport } from './report/model.js';

export interface OcclusionResultsInput {
  /** Model name shown in the report (unique). */
  name: string;
  /** A COCO results file … */
  file?: string;
  /** … or results already loaded with `gt.loadRes`. */
  dataset?: CocoDataset;
}

export interface BuildOcclusionReportOptions {
  /** Ground truth: a COCO annotation file or a loaded dataset. */
  gt: string | CocoDataset;
  /** One or more models; the first is the baseline. */
  results: OcclusionResultsInput[];
  iouType: IouType;
  /** Number of bins of width 1/bins (default 10). */
  bins?: number;
  /** Occlusion ratio definition (default 'box'). */
  definition?: OcclusionDefinition;
  /** Bootstrap replicates per subset (default 200; 0 = no intervals). */
  bootstrap?: number;
  /** Bootstrap seed (default 0). */
  seed?: number | string;
  /** Interval confidence (default 0.95). */
  confidence?: number;
  /** pycocotools' box area for segm results that carry a bbox (default true; false = `--mask-area`). */
  segmAreaFromBbox?: boolean;
  /** Skip results whose category is not in the GT (default false: an error). */
  skipUnknownCategories?: boolean;
  onProgress?: (message: string) => void;
  onWarning?: (message: string) => void;
}

/** Default number of bootstrap replicates. */
export const DEFAULT_BOOTSTRAP = 200;
/** The most bootstrap replicates accepted (checked by the commands up front): 10 000 already gives intervals stable to
 * about ±0.1 AP, and each replicate costs one accumulate. */
export const MAX_BOOTSTRAP = 100_000;

function checkOptions(o: BuildOcclusionReportOptions): void {
  if (o.iouType !== 'bbox' && o.iouType !== 'segm') throw new Error(`iouType must be 'bbox' or 'segm', got '${String(o.iouType)}'`);
  if (o.definition !== undefined && !OCCLUSION_DEFINITIONS.includes(o.definition)) {
    throw new Error(`unknown occlusion definition '${String(o.definition)}' (expected ${OCCLUSION_DEFINITIONS.join(', ')})`);
  }
  makeBins(o.bins ?? 10); // validates the count
  const B = o.bootstrap ?? DEFAULT_BOOTSTRAP;
  if (!Number.isInteger(B) || B < 0) throw new Error(`bootstrap replicates must be a non-negative integer, got ${String(B)}`);
  const c = o.confidence ?? 0.95;
  if (!(c > 0 && c < 1)) throw new Error(`confidence must be in (0, 1), got ${String(c)}`);
  if (!o.results.length) throw new Error('no results: give at least one model (NAME=FILE)');
  const seen = new Map<string, number>();
  o.results.forEach((r, i) => {
    if (typeof r.name !== 'string' || r.name.trim() === '') throw new Error(`results[${i}]: the model name is empty`);
    const prev = seen.get(r.name);
    if (prev !== undefined) throw new Error(`duplicate model name '${r.name}' (results ${prev + 1} and ${i + 1}); names must be unique`);
    seen.set(r.name, i);
    if ((r.file === undefined) === (r.dataset === undefined)) throw new Error(`results '${r.name}': give exactly one of file and dataset`);
  });
}

/** Results given as a dataset must be about this ground truth's images. */
function checkDatasetImages(gt: CocoDataset, ds: CocoDataset, name: string): void {
  ds.annotations.forEach((a, i) => {
    if (!gt.images.has(a.image_id)) {
      throw new CocoFormatError(ds.source, `results[${i}] (model ${name})`, 'image_id',
        `image ${a.image_id} is not an image of ${gt.source} — results for another dataset?`);
    }
  });
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

function statsRecord(stats: number[]): Record<StatName, number> {
  return Object.fromEntries(STAT_NAMES.map((n, i) => [n, stats[i]!])) as Record<StatName, number>;
}

interface Subset {
  kind: SubsetRow['kind'];
  index: number;
  label: string;
  lo: number;
  hi: number;
  closed: boolean;
  imgIds: number[];
  instances: number;
  /** per model: the 12 stats (null without images) */
  stats: (Record<StatName, number> | null)[];
  ci: (Record<CiStat, CiValue | null> | null)[];
  gapCi: (Record<CiStat, CiValue | null> | null)[];
}

/** Builds the occlusion report (evaluates every model once; see the file comment). */
export function buildOcclusionReport(opts: BuildOcclusionReportOptions): OcclusionReport {
  checkOptions(opts);
  const tAll = performance.now();
  const progress = opts.onProgress ?? (() => {});
  const warn = opts.onWarning ?? (() => {});
  const n = opts.bins ?? 10;
  const definition = opts.definition ?? 'box';
  const B = opts.bootstrap ?? DEFAULT_BOOTSTRAP;
  const seed = opts.seed ?? 0;
  const confidence = opts.confidence ?? 0.95;
  const timing: Record<string, number> = {};

  let t0 = performance.now();
  const gt = typeof opts.gt === 'string' ? CocoDataset.fromFile(opts.gt) : opts.gt;
  timing.loadGt = seconds(t0);
  const instancesOf = new Map<number, number>();
  let instances = 0;
  let crowd = 0;
  for (const a of gt.annotations) {
    if (a.iscrowd) {
      crowd++;
    } else {
      instances++;
      instancesOf.set(a.image_id, (instancesOf.get(a.image_id) ?? 0) + 1);
    }
  }
  if (gt.images.size === 0) throw new Error(`${gt.source}: the ground truth has no images`);
  if (instances === 0) {
    throw new Error(`${gt.source}: the ground truth has no (non-crowd) annotations — the occlusion ratio needs ground-truth boxes`);
  }

  t0 = performance.now();
  progress(`occlusion ratio (${definition}) of ${gt.images.size} images …`);
  const ratios = imageOcclusionRatios(gt, definition);
  const assignment = assignBins(ratios, n);
  const dist = occlusionDistribution(ratios, instancesOf, n);
  timing.ratios = seconds(t0);
  const countInstances = (ids: number[]) => ids.reduce((s, id) => s + (instancesOf.get(id) ?? 0), 0);

  const allIds = gt.getImgIds();
  const M = opts.results.length;
  const mk = (kind: Subset['kind'], index: number, label: string, lo: number, hi: number, closed: boolean, imgIds: number[]): Subset => ({
    kind, index, label, lo, hi, closed, imgIds, instances: countInstances(imgIds),
    stats: new Array(M).fill(null), ci: new Array(M).fill(null), gapCi: new Array(M).fill(null),
  });
  const overall = mk('all', 0, 'all images', 0, 1, true, allIds);
  const bins = assignment.bins.map((b, k) => mk('bin', k, b.label, b.lo, b.hi, b.closed, assignment.binImages[k]!));
  const levels = assignment.levels.map((l, k) => mk('level', k, l.label, l.t, 1, true, assignment.levelImages[k]!));
  // the level r ≥ 0 is every image: it shares the overall row's numbers
  const computed = [overall, ...bins, ...levels.slice(1)];

  // --- one evaluation per model; each subset is an accumulation of it
  const evals: CocoEval[] = [];
  const models: ReportModel[] = [];
  for (let m = 0; m < M; m++) {
    const input = opts.results[m]!;
    const label = `${input.name} (${m + 1}/${M})`;
    t0 = performance.now();
    progress(`${label}: loading results …`);
    let dt: CocoDataset;
    if (input.dataset) {
      dt = input.dataset;
      checkDatasetImages(gt, dt, input.name);
    } else {
      dt = gt.loadRes(input.file!, { segmAreaFromBbox: opts.segmAreaFromBbox !== false });
    }
    const info = dt.resultsInfo;
    if (opts.iouType === 'segm' && info?.branch === 'bbox' && info.count > 0 && info.boxPolygons === info.count) {
      warn(
        `${input.name}: ${dt.source} holds boxes only (no 'segmentation'): as in pycocotools each box is scored as a ` +
          'rectangular mask, so these are not mask APs — use --iou bbox, or write the masks into the results',
      );
    }
    let unknown = 0;
    let firstUnknown = -1;
    dt.annotations.forEach((a, i) => {
      if (!gt.categories.has(a.category_id)) {
        unknown++;
        if (firstUnknown < 0) firstUnknown = i;
      }
    });
    if (unknown > 0) {
      if (!opts.skipUnknownCategories) {
        const a = dt.annotations[firstUnknown]!;
        throw new CocoFormatError(dt.source, `results[${firstUnknown}] (image ${a.image_id})`, 'category_id',
          `category ${a.category_id} is not a category of ${gt.source}${unknown > 1 ? ` (${unknown} results have unknown categories)` : ''}` +
            '; --skip-unknown-categories skips them');
      }
      warn(`${input.name}: skipped ${unknown} result(s) whose category is not in ${gt.source}`);
    }
    timing[`load:${input.name}`] = seconds(t0);
    t0 = performance.now();
    progress(`${label}: evaluating (${dt.annotations.length} detections) …`);
    const warnings: string[] = [];
    const E = new CocoEval(gt, dt, opts.iouType, { onWarning: (w) => warnings.push(w) });
    E.evaluate();
    if (input.file !== undefined) dt.clearRleCache(); // the evaluation keeps what it needs; masks can go
    for (const w of warnings) warn(`${input.name}: ${w}`);
    timing[`evaluate:${input.name}`] = seconds(t0);
    t0 = performance.now();
    const summary = E.summarize(E.accumulate());
    overall.stats[m] = statsRecord(summary.stats);
    for (const s of computed) {
      if (s === overall || s.imgIds.length === 0) continue;
      s.stats[m] = statsRecord(E.summaryStats({ imgIds: s.imgIds }));
    }
    timing[`accumulate:${input.name}`] = seconds(t0);
    evals.push(E);
    models.push({ name: input.name, file: input.file ?? dt.source, detections: dt.annotations.length, summary: summary.lines, warnings });
  }

  // --- bootstrap: resample all images; every subset's figures on the resampled images in it, for every model
  // from the same resamples (paired gaps)
  if (B > 0) {
    t0 = performance.now();
    const withImages = computed.filter((s) => s.imgIds.length > 0);
    const ranges = withImages.map((s): [number, number] => (s.kind === 'all' ? [0, n - 1] : s.kind === 'bin' ? [s.index, s.index] : [s.index, n - 1]));
    progress(`bootstrap: ${B} resamples of ${allIds.length} images, ${ranges.length} subsets × ${M} model(s) …`);
    const groups = allIds.map((id) => assignment.binOf.get(id)!);
    const resamplers = evals.map((E) => E.apResampler(allIds, { groups, ranges }));
    const S = ranges.length;
    const perModel = 3 * S;
    const tmp = new Float64Array(perModel);
    // values: [model m][subset s][AP, AP50, AP75], then [model m ≥ 1][subset s][gap AP, AP50, AP75]; the estimates
    // are the subsets' pycocotools figures (the resampler gives the same with every count 1)
    const estimates = new Float64Array(perModel * (2 * M - 1)).fill(Number.NaN);
    withImages.forEach((s, si) => {
      for (let m = 0; m < M; m++) {
        CI_STATS.forEach((st, j) => {
          const v = s.stats[m]![st];
          estimates[m * perModel + 3 * si + j] = v >= 0 ? v : Number.NaN;
        });
      }
    });
    for (let m = 1; m < M; m++) {
      for (let v = 0; v < perModel; v++) estimates[(M + m - 1) * perModel + v] = estimates[m * perModel + v]! - estimates[v]!;
    }
    const res = runBootstrap(
      allIds.length,
      perModel * (2 * M - 1),
      (counts, out) => {
        for (let m = 0; m < M; m++) {
          resamplers[m]!.run(counts, tmp);
          for (let v = 0; v < perModel; v++) out[m * perModel + v] = tmp[v]! >= 0 ? tmp[v]! : Number.NaN;
        }
        for (let m = 1; m < M; m++) {
          for (let v = 0; v < perModel; v++) out[(M + m - 1) * perModel + v] = out[m * perModel + v]! - out[v]!; // NaN stays NaN
        }
      },
      { replicates: B, seed, confidence, method: 'basic', estimates, bounds: (v) => (v < M * perModel ? [0, 1] : [-1, 1]) },
    );
    const pick = (block: number, si: number) =>
      Object.fromEntries(CI_STATS.map((st, j) => [st, res.intervals[block * perModel + 3 * si + j] ?? null])) as Record<CiStat, CiValue | null>;
    withImages.forEach((s, si) => {
      for (let m = 0; m < M; m++) {
        s.ci[m] = pick(m, si);
        if (m > 0) s.gapCi[m] = pick(M + m - 1, si);
      }
    });
    timing.bootstrap = seconds(t0);
  }
  // level r ≥ 0 = all images
  levels[0]!.stats = overall.stats;
  levels[0]!.ci = overall.ci;
  levels[0]!.gapCi = overall.gapCi;

  const names = opts.results.map((r) => r.name);
  const toRow = (s: Subset): SubsetRow => ({
    kind: s.kind,
    index: s.index,
    label: s.label,
    lo: s.lo,
    hi: s.hi,
    closed: s.closed,
    images: s.imgIds.length,
    instances: s.instances,
    models: names.map((name, m): ModelCell => {
      const st = s.stats[m] ?? null;
      const base = s.stats[0] ?? null;
      let gap: Record<TableStat, number | null> | null = null;
      if (m > 0 && st && base) {
        gap = Object.fromEntries(TABLE_STATS.map((k) => [k, st[k] >= 0 && base[k] >= 0 ? st[k] - base[k] : null])) as Record<TableStat, number | null>;
      }
      return { model: name, stats: st, ci: st ? s.ci[m] ?? null : null, gap, gapCi: m > 0 && st ? s.gapCi[m] ?? null : null };
    }),
  });
  timing.total = seconds(tAll);

  const def = OCCLUSION_DEFINITION_TEXT[definition];
  return {
    format: 'tiedet-occlusion-report',
    version: 1,
    created: new Date().toISOString(),
    gt: { file: gt.source, images: gt.images.size, instances, crowd, categories: gt.categories.size },
    iouType: opts.iouType,
    definition: { name: definition, formula: def.formula, text: def.text },
    binning: { n, width: 1 / n },
    bootstrap: B > 0 ? { replicates: B, seed, confidence, method: 'basic', paired: true, stats: [...CI_STATS] } : null,
    baseline: names[0]!,
    models,
    overall: toRow(overall),
    bins: bins.map(toRow),
    levels: levels.map(toRow),
    distribution: { mean: dist.mean, median: dist.median, max: dist.max, imagesWithTwoOrMore: dist.imagesWithTwoOrMore },
    images: allIds.map((id) => ({ id, r: ratios.get(id)!, bin: assignment.binOf.get(id)! })),
    timing,
  };
}

export interface WrittenReport {
  json: string;
  csv: string;
  markdown: string;
  html: string;
}

/** Writes report.json, bins.csv, report.md and report.html into `dir` (created if needed). */
export function writeOcclusionReport(report: OcclusionReport, dir: string): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const paths: WrittenReport = {
    json: join(dir, 'report.json'),
    csv: join(dir, 'bins.csv'),
    markdown: join(dir, 'report.md'),
    html: join(dir, 'report.html'),
  };
  writeFileSync(paths.json, `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(paths.csv, reportCsv(report));
  writeFileSync(paths.markdown, reportMarkdown(report));
  writeFileSync(paths.html, reportHtml(report));
  return paths;
}
