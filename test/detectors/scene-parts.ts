/**
 * The parts the detector tests' synthetic scenes share (toy-scenes.ts for RetinaNet, mask-rcnn-scenes.ts for Mask
 * R-CNN): the three class colours, a seeded placement of non-overlapping objects, the smooth two-tone background,
 * mmdetection's ImageNet normalisation into the batch buffer, image metas (also for the other detector tests) and
 * the COCO categories. Every random draw takes the scene's `Rng`, in the order documented on each function.
 */
import type { ImageMeta } from '../../data/meta.js';
import type { Rng } from '../../src/nn/rng.js';

/** RGB colour of class 0, 1, 2. */
export const COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [220, 40, 40],
  [40, 200, 60],
  [50, 70, 230],
];
const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

/** COCO ground truth as the scenes build it. */
export interface SceneCoco {
  images: object[];
  annotations: object[];
  categories: object[];
}

/** What both scene generators take (plus how the original image size relates to the network size). */
export interface SceneBaseOptions {
  count: number;
  /** Network input side (square). */
  size: number;
  seed: number;
  /** Objects per image (inclusive range). */
  objects: [number, number];
  /** Object side range (in the pixels the generator places objects in). */
  sides: [number, number];
}

/** An object: its box [x1, y1, x2, y2] and class (the shape is inscribed in the box). */
export interface PlacedObject {
  box: [number, number, number, number];
  label: number;
}

export interface PlacementOptions {
  /** Objects per image (inclusive range). */
  objects: [number, number];
  /** Object side range. */
  sides: [number, number];
  /** Side of the square image the objects are placed in. */
  extent: number;
  /** Distance kept from the image border. */
  inset: number;
  /** Boxes closer than this (in x and in y) count as overlapping. */
  gap: number;
  /** Placement attempts before giving up on the remaining objects. */
  attempts: number;
}

function overlaps(a: readonly number[], b: readonly number[], gap: number): boolean {
  return a[0]! < b[2]! + gap && b[0]! < a[2]! + gap && a[1]! < b[3]! + gap && b[1]! < a[3]! + gap;
}

/**
 * Non-overlapping objects of one image. Draws: the object count, then per attempt width, height, x1, y1 and — only
 * when the box fits — the class.
 */
export function placeObjects(rng: Rng, o: PlacementOptions): PlacedObject[] {
  const k = o.objects[0] + rng.int(o.objects[1] - o.objects[0] + 1);
  const objs: PlacedObject[] = [];
  for (let attempt = 0; objs.length < k && attempt < o.attempts; attempt++) {
    const w = Math.round(rng.uniformIn(o.sides[0], o.sides[1]));
    const h = Math.round(rng.uniformIn(o.sides[0], o.sides[1]));
    const x1 = o.inset + rng.int(o.extent - w - 2 * o.inset);
    const y1 = o.inset + rng.int(o.extent - h - 2 * o.inset);
    const box: [number, number, number, number] = [x1, y1, x1 + w, y1 + h];
    if (objs.some((b) => overlaps(b.box, box, o.gap))) continue;
    objs.push({ box, label: rng.int(COLOURS.length) });
  }
  return objs;
}

/** A new S×S RGB image blending `a` (top-left) into `b` (bottom-right) diagonally; `flip` mirrors it. */
export function twoToneBackground(S: number, a: readonly number[], b: readonly number[], flip = false): Float32Array {
  const img = new Float32Array(S * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const xs = flip ? S - 1 - x : x; // the unflipped column this pixel shows
      const t = (xs + y) / (2 * S);
      for (let c = 0; c < 3; c++) img[(y * S + x) * 3 + c] = a[c]! * (1 - t) + b[c]! * t;
    }
  }
  return img;
}

/** Writes the S×S image `img`, normalised with mmdetection's ImageNet mean / std, as image `i` of `pixels`. */
export function normaliseInto(pixels: Float32Array, i: number, img: Float32Array, S: number): void {
  for (let p = 0; p < S * S; p++) {
    for (let c = 0; c < 3; c++) pixels[(i * S * S + p) * 3 + c] = (img[p * 3 + c]! - MEAN[c]!) / STD[c]!;
  }
}

/** An image meta with the network (resized) size w×h; by default no resize, no padding, no flip, image 1. */
export function imageMeta(o: Partial<ImageMeta> & { w: number; h: number }): ImageMeta {
  return {
    imageId: o.imageId ?? 1,
    file: o.file ?? 'x.png',
    originalSize: o.originalSize ?? { width: o.w, height: o.h },
    resizedSize: { width: o.w, height: o.h },
    padSize: o.padSize ?? { width: o.w, height: o.h },
    scaleFactor: o.scaleFactor ?? [1, 1],
    flipped: o.flipped ?? false,
  };
}

/** The meta of a square `original`-pixel image shown to the network at S×S (no padding). */
export function squareMeta(imageId: number, file: string, original: number, S: number, flipped: boolean): ImageMeta {
  return imageMeta({ imageId, file, w: S, h: S, originalSize: { width: original, height: original }, scaleFactor: [S / original, S / original], flipped });
}

/** COCO categories with ids 1… for the class names. */
export function cocoCategories(names: readonly string[]): object[] {
  return names.map((name, c) => ({ id: c + 1, name }));
}
