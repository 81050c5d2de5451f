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
import { COLOURS, cocoCategories, normaliseInto, placeObjects, squareMeta, twoToneBackground, type SceneBaseOptions, type SceneCoco } from './scene-parts.js';

export const TOY_CLASSES = ['red box', 'green ellipse', 'blue box'] as const;

export interface ToyScenes {
  batch: DetectionBatch;
  /** COCO ground truth (original image pixels, category ids 1…3). */
  coco: SceneCoco;
}

/** `sides` in network pixels. */
export interface ToyOptions extends SceneBaseOptions {
  /** Original image side = size / scale. */
  scale: number;
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
    const img = twoToneBackground(S, bgA, bgB);
    const objs = placeObjects(rng, { objects: opts.objects, sides: opts.sides, extent: S, inset: 0, gap: 2, attempts: 200 });
    for (const { box: b, label } of objs) {
      const col = COLOURS[label]!;
      const [cx, cy, rx, ry] = [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, (b[2] - b[0]) / 2, (b[3] - b[1]) / 2];
      for (let y = b[1]; y < b[3]; y++) {
        for (let x = b[0]; x < b[2]; x++) {
          const inside = label !== 1 || ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1;
          if (inside) for (let c = 0; c < 3; c++) img[(y * S + x) * 3 + c] = col[c]!;
        }
      }
    }
    normaliseInto(pixels, i, img, S);
    const imageId = i + 1;
    metas.push(squareMeta(imageId, `toy-${imageId}.png`, orig, S, false));
    targets.push({ boxes: Float32Array.from(objs.flatMap((o) => o.box)), labels: Int32Array.from(objs, (o) => o.label) });
    images.push({ id: imageId, width: orig, height: orig, file_name: `toy-${imageId}.png` });
    for (const { box: b, label } of objs) {
      const s = orig / S;
      const [x, y, w, h] = [b[0] * s, b[1] * s, (b[2] - b[0]) * s, (b[3] - b[1]) * s];
      annotations.push({ id: annotations.length + 1, image_id: imageId, category_id: label + 1, bbox: [x, y, w, h], area: w * h, iscrowd: 0 });
    }
  }
  return {
    batch: { images: tf.tensor4d(pixels, [n, S, S, 3]), metas, targets },
    coco: { images, annotations, categories: cocoCategories(TOY_CLASSES) },
  };
}
