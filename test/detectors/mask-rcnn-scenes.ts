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
import { encode, toCompressed } from '../../eval/mask.js';
import { Rng } from '../../src/nn/rng.js';

export const SCENE_CLASSES = ['rectangle', 'ellipse', 'triangle'] as const;
const COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [220, 40, 40],
  [40, 200, 60],
  [50, 70, 230],
];
const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

/** One object in original pixels: its bounding box and class (the shape is inscribed in the box). */
export interface SceneObject {
  box: [number, number, number, number];
  label: number;
}

export interface SceneOptions {
  count: number;
  /** Network input side (square). */
  size: number;
  /** Original image side. */
  original: number;
  seed: number;
  /** Objects per image (inclusive range). */
  objects: [number, number];
  /** Object side range in ORIGINAL pixels. */
  sides: [number, number];
}

export interface Scenes {
  objects: SceneObject[][];
  /** COCO ground truth in original pixels (category ids 1…3, RLE segmentations). */
  coco: { images: object[]; annotations: object[]; categories: object[] };
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

function overlaps(a: number[], b: number[]): boolean {
  return a[0]! < b[2]! + 4 && b[0]! < a[2]! + 4 && a[1]! < b[3]! + 4 && b[1]! < a[3]! + 4;
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
    const k = opts.objects[0] + rng.int(opts.objects[1] - opts.objects[0] + 1);
    const objs: SceneObject[] = [];
    for (let attempt = 0; objs.length < k && attempt < 500; attempt++) {
      const w = Math.round(rng.uniformIn(opts.sides[0], opts.sides[1]));
      const h = Math.round(rng.uniformIn(opts.sides[0], opts.sides[1]));
      const x1 = 2 + rng.int(O - w - 4);
      const y1 = 2 + rng.int(O - h - 4);
      const box: [number, number, number, number] = [x1, y1, x1 + w, y1 + h];
      if (objs.some((b) => overlaps(b.box, box))) continue;
      objs.push({ box, label: rng.int(COLOURS.length) });
    }
    objects.push(objs);
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
      const img = new Float32Array(S * S * 3);
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) {
          const xs = flip ? S - 1 - x : x; // the unflipped column this pixel shows
          const t = (xs + y) / (2 * S);
          for (let c = 0; c < 3; c++) img[(y * S + x) * 3 + c] = bgA![c]! * (1 - t) + bgB![c]! * t;
        }
      }
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
      for (let p = 0; p < S * S; p++) for (let c = 0; c < 3; c++) pixels[(i * S * S + p) * 3 + c] = (img[p * 3 + c]! - MEAN[c]!) / STD[c]!;
      metas.push({
        imageId: i + 1,
        file: `scene-${i + 1}.png`,
        originalSize: { width: O, height: O },
        resizedSize: { width: S, height: S },
        padSize: { width: S, height: S },
        scaleFactor: [scale, scale],
        flipped: flip,
      });
      targets.push({ boxes, labels: Int32Array.from(objs, (o) => o.label), masks });
    });
    return { images: tf.tensor4d(pixels, [n, S, S, 3]), metas, targets };
  };

  return { objects, coco: { images, annotations, categories: SCENE_CLASSES.map((name, c) => ({ id: c + 1, name })) }, batch };
}
