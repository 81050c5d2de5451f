/**
 * A handful of toy detection scenes for the detector tests: flat coloured rectangles and ellipses (three classes,
 * told apart by shape and colour) on a smooth two-tone background, drawn into float32 RGB buffers with a seeded
 * RNG. Each scene also comes as COCO ground truth (in ORIGINAL image pixels: the network sees the scene resized by
 * `scale`) so predictions can be scored by eval/cocoeval.ts.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import type { DetectionBatch, DetectionTargets } from '../../detectors/detector.js';
import { Rng } from '../../src/nn/rng.js';

export const TOY_CLASSES = ['red box', 'green ellipse', 'blue box'] as const;
const COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [220, 40, 40],
  [40, 200, 60],
  [50, 70, 230],
];
const MEAN = [123.675, 116.28, 103.53];
const STD = [58.395, 57.12, 57.375];

export interface ToyScenes {
  batch: DetectionBatch;
  /** COCO ground truth (original image pixels, category ids 1…3). */
  coco: { images: object[]; annotations: object[]; categories: object[] };
}

export interface ToyOptions {
  count: number;
  /** Network input side (square). */
  size: number;
  /** Original image side = size / scale. */
  scale: number;
  seed: number;
  /** Objects per image (inclusive range). */
  objects: [number, number];
  /** Object side range in network pixels. */
  sides: [number, number];
}

function overlaps(a: number[], b: number[]): boolean {
  return a[0]! < b[2]! + 2 && b[0]! < a[2]! + 2 && a[1]! < b[3]! + 2 && b[1]! < a[3]! + 2;
}

/** Scenes as a normalised NHWC batch (mmdetection's mean/std) with metas, targets and COCO ground truth. */
export function toyScenes(opts: ToyOptions): ToyScenes {
  const rng = new Rng(opts.seed);
  const { size: S, count: n } = opts;
  const pixels = new Float32Array(n * S * S * 3);
  const metas: ImageMeta[] = [];
  const targets: DetectionTargets[] = [];
  const images: object[] = [];
  const annotations: object[] = [];
  const orig = Math.round(S / opts.scale);
  for (let i = 0; i < n; i++) {
    const bgA = [rng.uniformIn(90, 170), rng.uniformIn(90, 170), rng.uniformIn(90, 170)];
    const bgB = [rng.uniformIn(60, 200), rng.uniformIn(60, 200), rng.uniformIn(60, 200)];
    const img = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const t = (x + y) / (2 * S);
        for (let c = 0; c < 3; c++) img[(y * S + x) * 3 + c] = bgA[c]! * (1 - t) + bgB[c]! * t;
      }
    }
    const k = opts.objects[0] + rng.int(opts.objects[1] - opts.objects[0] + 1);
    const boxes: number[][] = [];
    const labels: number[] = [];
    for (let attempt = 0; boxes.length < k && attempt < 200; attempt++) {
      const w = Math.round(rng.uniformIn(opts.sides[0], opts.sides[1]));
      const h = Math.round(rng.uniformIn(opts.sides[0], opts.sides[1]));
      const x1 = rng.int(S - w);
      const y1 = rng.int(S - h);
      const box = [x1, y1, x1 + w, y1 + h];
      if (boxes.some((b) => overlaps(b, box))) continue;
      boxes.push(box);
      labels.push(rng.int(COLOURS.length));
    }
    boxes.forEach((b, j) => {
      const label = labels[j]!;
      const col = COLOURS[label]!;
      const [cx, cy, rx, ry] = [(b[0]! + b[2]!) / 2, (b[1]! + b[3]!) / 2, (b[2]! - b[0]!) / 2, (b[3]! - b[1]!) / 2];
      for (let y = b[1]!; y < b[3]!; y++) {
        for (let x = b[0]!; x < b[2]!; x++) {
          const inside = label !== 1 || ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1;
          if (inside) for (let c = 0; c < 3; c++) img[(y * S + x) * 3 + c] = col[c]!;
        }
      }
    });
    for (let p = 0; p < S * S; p++) {
      for (let c = 0; c < 3; c++) pixels[(i * S * S + p) * 3 + c] = (img[p * 3 + c]! - MEAN[c]!) / STD[c]!;
    }
    const imageId = i + 1;
    metas.push({
      imageId,
      file: `toy-${imageId}.png`,
      originalSize: { width: orig, height: orig },
      resizedSize: { width: S, height: S },
      padSize: { width: S, height: S },
      scaleFactor: [S / orig, S / orig],
      flipped: false,
    });
    targets.push({ boxes: Float32Array.from(boxes.flat()), labels: Int32Array.from(labels) });
    images.push({ id: imageId, width: orig, height: orig, file_name: `toy-${imageId}.png` });
    boxes.forEach((b, j) => {
      const s = orig / S;
      const [x, y, w, h] = [b[0]! * s, b[1]! * s, (b[2]! - b[0]!) * s, (b[3]! - b[1]!) * s];
      annotations.push({ id: annotations.length + 1, image_id: imageId, category_id: labels[j]! + 1, bbox: [x, y, w, h], area: w * h, iscrowd: 0 });
    });
  }
  return {
    batch: { images: tf.tensor4d(pixels, [n, S, S, 3]), metas, targets },
    coco: { images, annotations, categories: TOY_CLASSES.map((name, c) => ({ id: c + 1, name })) },
  };
}
