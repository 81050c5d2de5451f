/**
 * Reading a COCO results file for drawing, through `CocoDataset.loadRes` (pycocotools' semantics and validation):
 * errors name the results file, the record and the field. Under `onBad: 'skip'` every record is checked on its own
 * first — the checks of `loadRes`, the branch rule (pycocotools treats all records like the first one) and a full
 * decode of its mask — and a bad record is left out, counted and listed instead of stopping the run. Also records
 * which results carry their own mask (`segmentation`), since `loadRes` gives box-only records a box polygon.
 */
import { CocoFormatError, type CocoDataset } from '../../eval/coco.js';
import { readJsonFile } from '../../eval/json.js';
import { annToRle, SegmentationError } from '../../src/structures/segmentation.js';
import type { SkippedItem } from './gallery.js';

export interface LoadedResults {
  dt: CocoDataset;
  /** hasMask[ann.id − 1]: the record carried its own segmentation. */
  hasMask: boolean[];
  /** Records left out under `onBad: 'skip'`. */
  skipped: SkippedItem[];
  /** Results whose category is not a ground-truth category (drawn with the id as their name). */
  unknownCategory: number;
}

type Rec = Record<string, unknown>;
const isObject = (v: unknown): v is Rec => v !== null && typeof v === 'object' && !Array.isArray(v);
const hasBox = (r: Rec) => r.bbox !== undefined && !(Array.isArray(r.bbox) && r.bbox.length === 0);

/** Re-raises a CocoFormatError from `loadRes` on an in-memory array with the file name (and record index) put back. */
function withFile(e: unknown, file: string, index?: number): unknown {
  if (!(e instanceof CocoFormatError) || e.file !== '<results>') return e;
  const record = index === undefined ? e.record : e.record?.replace(/^results\[0\]/, `results[${index}]`);
  return new CocoFormatError(file, record, e.field, e.reason);
}

/** Why record `i` cannot be drawn, or undefined when it is fine. `boxBranch` is the branch of the kept list. */
function checkRecord(gt: CocoDataset, file: string, r: unknown, i: number, boxBranch: boolean | undefined): string | undefined {
  try {
    gt.loadRes([r]);
  } catch (e) {
    const err = withFile(e, file, i);
    if (err instanceof CocoFormatError) return err.message;
    throw err;
  }
  const o = r as Rec;
  const rec = `results[${i}] (image ${String(o.image_id)})`;
  if (boxBranch === true && !hasBox(o)) {
    return new CocoFormatError(file, rec, 'bbox', "missing (the first record has 'bbox', so pycocotools treats every record as a box result)").message;
  }
  if (boxBranch === false && o.segmentation === undefined) {
    return new CocoFormatError(file, rec, 'segmentation', 'missing (the first record is a mask result, so pycocotools treats every record as one)').message;
  }
  if (o.segmentation !== undefined) {
    const img = gt.images.get(o.image_id as number)!;
    try {
      annToRle(o.segmentation, img.height, img.width);
    } catch (e) {
      if (e instanceof SegmentationError) {
        return new CocoFormatError(file, rec, `segmentation${e.path}`, `${e.reason} (image ${img.height}x${img.width})`).message;
      }
      throw e;
    }
  }
  return undefined;
}

export function loadResults(gt: CocoDataset, file: string, onBad: 'error' | 'skip'): LoadedResults {
  const raw = readJsonFile(file, 'results file');
  let kept: unknown[];
  const skipped: SkippedItem[] = [];
  if (onBad === 'skip' && Array.isArray(raw)) {
    kept = [];
    let boxBranch: boolean | undefined;
    raw.forEach((r, i) => {
      const why = checkRecord(gt, file, r, i, boxBranch);
      if (why !== undefined) {
        skipped.push({ what: `results[${i}]`, reason: why });
        return;
      }
      boxBranch ??= hasBox(r as Rec);
      kept.push(r);
    });
  } else {
    kept = raw as unknown[]; // loadRes rejects anything that is not an array, naming the file below
  }
  let dt: CocoDataset;
  try {
    dt = gt.loadRes(kept);
  } catch (e) {
    throw withFile(e, file);
  }
  const hasMask = Array.isArray(kept) ? kept.map((r) => isObject(r) && r.segmentation !== undefined) : [];
  return { dt, hasMask, skipped, unknownCategory: dt.resultsInfo?.unknownCategory ?? 0 };
}

/** Runs `fn`, putting the results file name back into CocoFormatErrors raised lazily (e.g. by `dt.rle`). */
export function namingResults<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw withFile(e, file);
  }
}
