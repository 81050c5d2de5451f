/**
 * Toy instance-segmentation scenes for the Mask R-CNN tests: non-overlapping rectangles, ellipses and triangles
 * (three classes, told apart by shape and colour) on a smooth two-tone background, with a seeded RNG.
 *
 * Shapes are analytic (in ORIGINAL image pixels), so each is rasterised twice by testing pixel centres: at the
 * original size for the COCO ground truth (RLE masks, boxes) and at the network size for the input image and the
 * training targets (boxes, 0/1 mask planes) — like the data pipeline, which rasterises polygons at the resized size.
 * With `flip` the network image, boxes and masks are mirrored and the metas say so (`flipped: true`); the COCO ground
 * truth stays unflipped, so a correct detector must undo the flip.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import type { MaskRcnnBatch, MaskRcnnTargets } from '../../detectors/mask-rcnn/targets.js';
import { encode } from '../../src/structures/rle.js';
import { toCompressed } from '../../src/structures/rle-string.js';
import { Rng } from '../../src/nn/rng.js';
import { COLOURS, cocoCategories, normaliseInto, placeObjects, squareMeta, twoToneBackground, type PlacedObject, type SceneBaseOptions, type SceneCoco } from './scene-parts.js';

export const SCENE_CLASSES = ['rectangle', 'ellipse', 'triangle'] as const;

/** One object in original pixels: its bounding box and class (the shape is inscribed in the box). */
export type SceneObject = PlacedObject;

/** `sides` in ORIGINAL pixels. */
export interface SceneOptions extends SceneBaseOptions {
  /** Original image side. */
  original: number;
}

export interface Scenes {
  objects: SceneObject[][];
  /** COCO ground truth in original pixels (category ids 1…3, RLE segmentations). */
  coco: SceneCoco;
  /** The network batch (normalised NHWC, metas, targets with masks); `flip` mirrors it. */
  batch(flip?: boolean): MaskRcnnBatch;
}

/** Whether the pixel centre (x + 0.5, y + 0.5), in the object's own pixel units, is inside the shape. */
function inside(o: SceneObject, px: number, py: number): boolean {
  const [x1, y1, x2, y2] = o.box;
  if (px < x1 || px > x2 || py < y1 || py > y2) return false;
  if (o.label === 0) return true;
  if (o.label === 1) {
    const [cx, cy, rx, ry] = [(x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2];
    return ((px - cx) / rx) ** 2 + ((py - cy) / ry) ** 2 <= 1;
  }
  // isosceles triangle, apex at the top centre
  const t = (py - y1) / (y2 - y1);
  const half = ((x2 - x1) / 2) * t;
  const cx = (x1 + x2) / 2;
  return px >= cx - half && px <= cx + half;
}

/** Row-major 0/1 bitmap of an object at `scale` (network pixels per original pixel), side `n`. */
function rasterise(o: SceneObject, n: number, scale: number, flip: boolean): Uint8Array {
  const out = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const xs = flip ? n - 1 - x : x;
      if (inside(o, (xs + 0.5) / scale, (y + 0.5) / scale)) out[y * n + x] = 1;
    }
  }
  return out;
}

/** Seeded scenes (see the file comment). */
export function maskScenes(opts: SceneOptions): Scenes {
  const rng = new Rng(opts.seed);
  const { size: S, original: O, count: n } = opts;
  const scale = S / O;
  const objects: SceneObject[][] = [];
  const backgrounds: number[][][] = [];
  for (let i = 0; i < n; i++) {
    backgrounds.push([0, 1].map(() => [0, 1, 2].map(() => rng.uniformIn(80, 180))));
    objects.push(placeObjects(rng, { objects: opts.objects, sides: opts.sides, extent: O, inset: 2, gap: 4, attempts: 500 }));
  }

  const images: object[] = [];
  const annotations: object[] = [];
  objects.forEach((objs, i) => {
    images.push({ id: i + 1, width: O, height: O, file_name: `scene-${i + 1}.png` });
    for (const o of objs) {
      const bits = rasterise(o, O, 1, false);
      const rle = encode(bits, O, O, 'row');
      let area = 0;
      for (const b of bits) area += b;
      const [x1, y1, x2, y2] = o.box;
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: o.label + 1,
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area,
        iscrowd: 0,
        segmentation: toCompressed(rle),
      });
    }
  });

  const batch = (flip = false): MaskRcnnBatch => {
    const pixels = new Float32Array(n * S * S * 3);
    const metas: ImageMeta[] = [];
    const targets: MaskRcnnTargets[] = [];
    objects.forEach((objs, i) => {
      const [bgA, bgB] = backgrounds[i]!;
      const img = twoToneBackground(S, bgA!, bgB!, flip);
      const masks = new Uint8Array(objs.length * S * S);
      const boxes = new Float32Array(objs.length * 4);
      objs.forEach((o, j) => {
        const m = rasterise(o, S, scale, flip);
        masks.set(m, j * S * S);
        const col = COLOURS[o.label]!;
        for (let p = 0; p < S * S; p++) if (m[p]) for (let c = 0; c < 3; c++) img[p * 3 + c] = col[c]!;
        const [x1, y1, x2, y2] = o.box.map((v) => v * scale) as [number, number, number, number];
        boxes.set(flip ? [S - x2, y1, S - x1, y2] : [x1, y1, x2, y2], 4 * j);
      });
      normaliseInto(pixels, i, img, S);
      metas.push(squareMeta(i + 1, `scene-${i + 1}.png`, O, S, flip));
      targets.push({ boxes, labels: Int32Array.from(objs, (o) => o.label), masks });
    });
    return { images: tf.tensor4d(pixels, [n, S, S, 3]), metas, targets };
  };

  return { objects, coco: { images, annotations, categories: cocoCategories(SCENE_CLASSES) }, batch };
}
