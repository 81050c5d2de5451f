/**
 * Per-image COCO AP for the render captions and gallery: one `CocoEval.evaluate()` over the images shown, then for
 * each image `accumulate({ imgIds: [id], catIds })` + `summarize().stats[0]` (AP@[.5:.95], area all, 100 dets) —
 * the number pycocotools gives when evaluating that image alone — computed when the image is drawn, so that it
 * overlaps with image decoding and encoding (which run on sharp's threads). `catIds` is restricted to the
 * categories with ground truth in the image: a category without ground truth has precision −1 and is left out of
 * the mean anyway, so the value is the same, and the accumulation stays proportional to the image's categories.
 */
import type { CocoDataset } from '../../eval/coco.js';
import { CocoEval, type IouType } from '../../eval/cocoeval.js';

const orNull = (ap: number | undefined): number | null => (ap === undefined || ap < 0 ? null : ap);

export class ImageApScorer {
  private readonly E: CocoEval;
  private readonly cache = new Map<number, number | null>();
  private overallAp: number | null | undefined;

  /** Evaluates `imgIds` (all detections, whatever the drawing threshold). */
  constructor(
    private readonly gt: CocoDataset,
    dt: CocoDataset,
    iouType: IouType,
    imgIds: readonly number[],
  ) {
    this.E = new CocoEval(gt, dt, iouType);
    this.E.params.imgIds = [...imgIds];
    this.E.evaluate();
  }

  /** Warnings of the evaluation (e.g. a ground-truth annotation with id 0). */
  get warnings(): string[] {
    return this.E.warnings;
  }

  /** AP of one evaluated image; null when it has no ground truth to score against (pycocotools' −1). */
  ap(imageId: number): number | null {
    const hit = this.cache.get(imageId);
    if (hit !== undefined) return hit;
    const cats = new Set<number>();
    for (const a of this.gt.annsByImage(imageId)) if (this.gt.categories.has(a.category_id)) cats.add(a.category_id);
    let ap: number | null = null;
    if (cats.size > 0) {
      const acc = this.E.accumulate({ imgIds: [imageId], catIds: [...cats].sort((a, b) => a - b) });
      ap = orNull(this.E.summarize(acc).stats[0]);
    }
    this.cache.set(imageId, ap);
    return ap;
  }

  /** AP over all the evaluated images together (null without ground truth). */
  overall(): number | null {
    if (this.overallAp === undefined) {
      this.overallAp = this.E.params.imgIds.length === 0 ? null : orNull(this.E.summarize(this.E.accumulate()).stats[0]);
    }
    return this.overallAp;
  }
}
