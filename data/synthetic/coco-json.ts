/**
 * COCO records of the synthetic dataset, in the layout of COCO's `instances_*.json` (pycocotools reads them as
 * is): `images` with `file_name` relative to the split's image folder and an extra `occlusion_ratio`;
 * `annotations` with a modal mask as compressed RLE, `area` and `bbox` of that mask, `iscrowd: 0`, and the extras
 * `amodal_bbox` / `amodal_area` (the whole shape). Annotations of an image are listed bottom to top (painting
 * order), ids count from 1 in each split. Keys are written in a fixed order: same data → same bytes.
 */
import type { CompressedRle } from '../../src/structures/rle.js';
import type { SyntheticConfig } from './presets.js';
import type { Scene } from './scene.js';
import type { SplitName } from './schedule.js';

export interface SyntheticImageRecord {
  id: number;
  file_name: string;
  width: number;
  height: number;
  occlusion_ratio: number;
}

export interface SyntheticAnnotationRecord {
  id: number;
  image_id: number;
  category_id: number;
  segmentation: CompressedRle;
  area: number;
  bbox: [number, number, number, number];
  iscrowd: 0;
  amodal_bbox: [number, number, number, number];
  amodal_area: number;
}

/** Categories 1…K in class order, supercategory 'shape'. */
export function categoryRecords(classes: readonly string[]): { id: number; name: string; supercategory: string }[] {
  return classes.map((name, i) => ({ id: i + 1, name, supercategory: 'shape' }));
}

/** Accumulates one split's images and annotations and serialises them. */
export class CocoSplitBuilder {
  readonly images: SyntheticImageRecord[] = [];
  readonly annotations: SyntheticAnnotationRecord[] = [];

  constructor(
    readonly split: SplitName,
    readonly config: SyntheticConfig,
  ) {}

  /** Adds a scene as image `images.length + 1`; returns its record. */
  add(fileName: string, scene: Scene): SyntheticImageRecord {
    const image: SyntheticImageRecord = {
      id: this.images.length + 1,
      file_name: fileName,
      width: scene.image.width,
      height: scene.image.height,
      occlusion_ratio: scene.occlusionRatio,
    };
    this.images.push(image);
    for (const o of scene.objects) {
      this.annotations.push({
        id: this.annotations.length + 1,
        image_id: image.id,
        category_id: o.classIndex + 1,
        segmentation: { size: o.segmentation.size, counts: o.segmentation.counts },
        area: o.area,
        bbox: o.bbox,
        iscrowd: 0,
        amodal_bbox: o.amodalBbox,
        amodal_area: o.amodalArea,
      });
    }
    return image;
  }

  /** The annotation file's text (compact JSON, one trailing newline). */
  toJson(): string {
    const c = this.config;
    return `${JSON.stringify({
      info: {
        description: `tiedet synthetic occlusion dataset (preset ${c.preset}, ${this.split})`,
        generator: 'tiedet make-synthetic',
        format_version: 1,
        preset: c.preset,
        size: c.size,
        seed: c.seed,
        split: this.split,
      },
      images: this.images,
      annotations: this.annotations,
      categories: categoryRecords(c.classes),
    })}\n`;
  }
}
