/**
 * The synthetic inputs the two-stage benches share (bench:mask-rcnn, bench:cascade): `--input HxW`, one image's
 * meta padded to 32, a seeded random image, and 100 "detections" from the best proposals (random weights detect
 * nothing above 0.05, so the mask head and paste would otherwise not run).
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageMeta } from '../../data/meta.js';
import type { NetDetections } from '../../detectors/mask-rcnn/bbox-postprocess.js';
import type { Rng } from '../../src/nn/rng.js';

export function parseInput(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(s);
  if (!m) throw new Error(`--input must be HxW, got ${s}`);
  return [Number(m[1]), Number(m[2])];
}

export function metaFor(h: number, w: number): ImageMeta {
  const pad = (v: number) => Math.ceil(v / 32) * 32;
  return {
    imageId: 1,
    file: 'bench.png',
    originalSize: { width: w, height: h },
    resizedSize: { width: w, height: h },
    padSize: { width: pad(w), height: pad(h) },
    scaleFactor: [1, 1],
    flipped: false,
  };
}

export function image(meta: ImageMeta, seed: number): tf.Tensor4D {
  return tf.randomNormal([1, meta.padSize.height, meta.padSize.width, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
}

/** 100 "detections": the best proposals with random labels. */
export function fakeDetections(proposals: Float32Array, numClasses: number, rng: Rng): NetDetections {
  const k = Math.min(100, proposals.length / 4);
  return {
    boxes: proposals.slice(0, 4 * k),
    scores: Float32Array.from({ length: k }, (_, i) => 1 - i / 1000),
    labels: Int32Array.from({ length: k }, () => rng.int(numClasses)),
  };
}
