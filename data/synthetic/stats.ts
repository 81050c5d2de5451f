/**
 * Statistics of a generated split, for the dataset README and the command's summary: images per occlusion bin
 * (the achieved histogram of the per-image ratio), images at r ≥ 0.8, images that missed their target bin,
 * objects per class, per COCO area range (by visible area: small < 32², medium < 96², large ≥ 96², the usual
 * non-overlapping reading of pycocotools' ranges) and per image.
 */
import { occlusionBin } from './placement.js';
import type { Scene } from './scene.js';
import type { SplitName } from './schedule.js';

export interface SplitStats {
  split: SplitName;
  images: number;
  annotations: number;
  /** Images per occlusion bin b = [b/10, (b+1)/10) (the last bin includes 1). */
  occlusionHistogram: number[];
  /** Images with occlusion ratio ≥ 0.8. */
  atLeast08: number;
  /** Images whose ratio is not in the bin they were aimed at (the closest attempt was kept). */
  missedTarget: number;
  /** Annotations per class (index into the class list). */
  perClass: number[];
  /** Annotations per COCO area range of the visible area. */
  areaRanges: { small: number; medium: number; large: number };
  /** Fewest, most and mean annotations per image. */
  objectsPerImage: { min: number; max: number; mean: number };
}

export const OCCLUSION_BINS = 10;

export class SplitStatsAccumulator {
  private readonly s: SplitStats;

  constructor(split: SplitName, numClasses: number) {
    this.s = {
      split,
      images: 0,
      annotations: 0,
      occlusionHistogram: new Array<number>(OCCLUSION_BINS).fill(0),
      atLeast08: 0,
      missedTarget: 0,
      perClass: new Array<number>(numClasses).fill(0),
      areaRanges: { small: 0, medium: 0, large: 0 },
      objectsPerImage: { min: Infinity, max: 0, mean: 0 },
    };
  }

  add(scene: Scene): void {
    const s = this.s;
    s.images++;
    s.annotations += scene.objects.length;
    s.occlusionHistogram[occlusionBin(scene.occlusionRatio, OCCLUSION_BINS)]!++;
    if (scene.occlusionRatio >= 0.8) s.atLeast08++;
    if (!scene.hit) s.missedTarget++;
    for (const o of scene.objects) {
      s.perClass[o.classIndex]!++;
      if (o.area < 32 * 32) s.areaRanges.small++;
      else if (o.area < 96 * 96) s.areaRanges.medium++;
      else s.areaRanges.large++;
    }
    s.objectsPerImage.min = Math.min(s.objectsPerImage.min, scene.objects.length);
    s.objectsPerImage.max = Math.max(s.objectsPerImage.max, scene.objects.length);
  }

  result(): SplitStats {
    const s = this.s;
    return {
      ...s,
      occlusionHistogram: [...s.occlusionHistogram],
      perClass: [...s.perClass],
      areaRanges: { ...s.areaRanges },
      objectsPerImage: {
        min: s.images === 0 ? 0 : s.objectsPerImage.min,
        max: s.objectsPerImage.max,
        mean: s.images === 0 ? 0 : s.annotations / s.images,
      },
    };
  }
}
