/**
 * `tiedet render` logic: draws the detections of a COCO results file (ours or any other toolbox's) on the images —
 * masks (segm) or boxes only (bbox), labels "category score", detections with score ≥ threshold, the best on top —
 * optionally next to the ground truth with the image's AP in a caption strip, and writes the images at their
 * original resolution plus the `index.html` gallery (per-image counts, AP, occlusion ratio).
 *
 * COCO results hold image ids only, so the annotation file (`gt`) is required: it gives each image's file name and
 * size; it may hold no annotations (then AP is "–" and the GT panel is empty).
 */
import { basename } from 'node:path';
import { CocoFormatError, type CocoAnnotation, type CocoDataset, type CocoImage } from '../../eval/coco.js';
import type { IouType } from '../../eval/cocoeval.js';
import type { RgbImage } from '../../data/image.js';
import { DEFAULT_SCORE_THR } from './defaults.js';
import { categoryColor, drawInstances, GT_STYLE, instanceColor, PREDICTION_STYLE, sideBySide, type Instance } from './draw.js';
import { writeGallery, type SkippedItem } from './gallery.js';
import { ImageApScorer } from './image-ap.js';
import { openDrawJob, type ColorBy, type DrawJobOptions } from './job.js';
import { loadResults, namingResults } from './results.js';

/** `gt`: its annotations give the AP and the GT panel. */
export interface RenderOptions extends DrawJobOptions {
  /** COCO results JSON (a list of detections). */
  results: string;
  /** Detections with score ≥ this are drawn (default 0.5); AP always uses all detections. */
  scoreThr?: number;
  /** 'segm' draws masks, 'bbox' boxes only; default: 'segm' when some result has a mask, else 'bbox'. */
  iouType?: IouType;
  sideBySide?: boolean;
}

export interface RenderSummary {
  out: string;
  gallery: string;
  iouType: IouType;
  rendered: number;
  skippedImages: SkippedItem[];
  skippedResults: SkippedItem[];
  /** AP over the rendered images together (null without ground truth). */
  ap: number | null;
  detectionsDrawn: number;
  seconds: number;
}

/** "person 0.87" (or "category 93 0.87" for an id missing from the annotation file). */
function catName(gt: CocoDataset, id: number): string {
  return gt.categories.get(id)?.name ?? `category ${id}`;
}

/**
 * The ground truth of an image as drawable instances (masks only when `masks`). A malformed mask throws its
 * `CocoFormatError`, unless `onBadMask` is given: then it is told, and the instance is drawn without its mask.
 */
export function gtInstances(
  gt: CocoDataset,
  imageId: number,
  colorBy: ColorBy,
  masks: boolean,
  onBadMask?: (a: CocoAnnotation, e: CocoFormatError) => void,
): Instance[] {
  const maskOf = (a: CocoAnnotation) => {
    if (!masks || a.segmentation === undefined) return undefined;
    try {
      return gt.rle(a);
    } catch (e) {
      if (!onBadMask || !(e instanceof CocoFormatError)) throw e;
      onBadMask(a, e);
      return undefined;
    }
  };
  return gt.annsByImage(imageId).map((a, k) => ({
    color: colorBy === 'category' ? categoryColor(a.category_id) : instanceColor(k),
    box: a.bbox,
    mask: maskOf(a),
    label: a.iscrowd ? `${catName(gt, a.category_id)} (crowd)` : catName(gt, a.category_id),
  }));
}

export async function renderResults(opts: RenderOptions): Promise<RenderSummary> {
  const scoreThr = opts.scoreThr ?? DEFAULT_SCORE_THR;
  if (!Number.isFinite(scoreThr)) throw new Error(`--score-thr: expected a number, got ${scoreThr}`);
  const { colorBy, onBad, log, gt, imageIds, run } = openDrawJob(opts);
  const { dt, hasMask, skipped: skippedResults, unknownCategory } = loadResults(gt, opts.results, onBad);
  const anyMask = hasMask.some((m) => m);
  const iouType: IouType = opts.iouType ?? (anyMask ? 'segm' : 'bbox');
  if (iouType === 'segm' && dt.annotations.length > 0 && !anyMask) {
    throw new Error(`${opts.results}: no result carries a 'segmentation' mask; use --iou-type bbox to draw (and score) the boxes`);
  }
  if (skippedResults.length > 0) log(`render: skipped ${skippedResults.length} bad result record(s) (--on-bad skip)`);
  if (unknownCategory > 0) log(`render: warning: ${unknownCategory} result(s) have a category that is not in ${opts.gt}; drawn as "category <id>"`);

  const scorer = namingResults(opts.results, () => new ImageApScorer(gt, dt, iouType, imageIds));
  for (const w of scorer.warnings) log(`render: warning: ${w}`);

  let detectionsDrawn = 0;
  const draw = (img: RgbImage, rec: CocoImage) =>
    namingResults(opts.results, () => {
      const all = dt.annsByImage(rec.id);
      // Ascending score (stable), so that the best detection is drawn last, on top.
      const kept = all.filter((a) => a.score! >= scoreThr).sort((a, b) => a.score! - b.score!);
      const n = kept.length;
      const dets: Instance[] = kept.map((a: CocoAnnotation, k) => ({
        color: colorBy === 'category' ? categoryColor(a.category_id) : instanceColor(n - 1 - k),
        box: a.bbox,
        mask: iouType === 'segm' && hasMask[a.id - 1] ? dt.rle(a) : undefined,
        label: `${catName(gt, a.category_id)} ${a.score!.toFixed(2)}`,
      }));
      detectionsDrawn += n;
      const imgAp = scorer.ap(rec.id);
      const pred = drawInstances(img, dets, PREDICTION_STYLE).image;
      let image = pred;
      if (opts.sideBySide) {
        const gtAnns = gtInstances(gt, rec.id, colorBy, iouType === 'segm');
        const left = drawInstances(img, gtAnns, GT_STYLE).image;
        const nGt = gtAnns.length;
        image = sideBySide(left, pred, [
          `ground truth: ${nGt} instance${nGt === 1 ? '' : 's'}`,
          `${n} detection${n === 1 ? '' : 's'} ≥ ${scoreThr} · ${iouType} AP ${imgAp === null ? '–' : imgAp.toFixed(3)}`,
        ]);
      }
      return { image, row: { det: n, detTotal: all.length, ap: imgAp } };
    });

  const job = await run(draw, 'render');
  const overall = scorer.overall();
  const info = [
    `results ${basename(opts.results)} · ground truth ${basename(opts.gt)} · images ${opts.images}`,
    `${job.rows.length} image(s) · ${iouType} · detections with score ≥ ${scoreThr} drawn (${detectionsDrawn}) · ` +
      `${iouType} AP over these images ${overall === null ? '–' : overall.toFixed(3)}` +
      (opts.sideBySide ? ' · left: ground truth, right: predictions' : ''),
  ];
  const skippedAll = [...job.skipped, ...skippedResults];
  if (skippedAll.length > 0) info.push(`skipped: ${job.skipped.length} image(s), ${skippedResults.length} result record(s) (listed at the end)`);
  const gallery = writeGallery(opts.out, job.rows, {
    title: `tiedet render — ${basename(opts.results)}`,
    info,
    predictions: true,
    apLabel: `${iouType} AP`,
    skipped: skippedAll,
  });
  return {
    out: opts.out,
    gallery,
    iouType,
    rendered: job.rows.length,
    skippedImages: job.skipped,
    skippedResults,
    ap: overall,
    detectionsDrawn,
    seconds: job.seconds,
  };
}
