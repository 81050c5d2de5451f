/**
 * What the dense heads (RetinaNet's `RetinaHead`, Mask R-CNN's `RPNHead`) share, as mmdetection's `AnchorHead`:
 *
 * - `forwardLevels`: one head, the same weights, run on every pyramid level (mmdetection's `multi_apply` over the
 *   levels) → per-level classification and regression maps, finest first.
 * - `flattenLevels`: per-level NHWC maps [n, h, w, A·k] → [n, Σ h·w·A, k], rows in (level, y, x, anchor) order —
 *   mmdetection's concatenation of `permute(0, 2, 3, 1).reshape(n, −1, k)`, the anchor generator's order.
 * - `featureSizes`: [h, w] of every level map (what the anchor generator needs).
 * - `imageLevelOutputs`: a batch's head outputs downloaded and cut into per-image, per-level typed arrays with the
 *   level's anchors — the input of the typed-array post-processing (RetinaNet detections, RPN proposals).
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSize } from '../src/ops/anchors.js';

/** Raw dense-head outputs, one map per level (finest first); a type literal, so `tf.tidy` can return it. */
export type DenseHeadOutput = {
  /** [n, h, w, A·k] classification logits (k = classes, or 1 for objectness). */
  cls: tf.Tensor4D[];
  /** [n, h, w, A·4] deltas. */
  reg: tf.Tensor4D[];
};

/** `forwardLevel` on every level (the same weights on each), outputs collected per branch. */
export function forwardLevels(levels: readonly tf.Tensor4D[], forwardLevel: (x: tf.Tensor4D) => [tf.Tensor4D, tf.Tensor4D]): DenseHeadOutput {
  const cls: tf.Tensor4D[] = [];
  const reg: tf.Tensor4D[] = [];
  for (const x of levels) {
    const [c, r] = forwardLevel(x);
    cls.push(c);
    reg.push(r);
  }
  return { cls, reg };
}

/**
 * Per-level maps [n, h, w, A·k] → one [n, Σ h·w·A, k] tensor (rows in (level, y, x, anchor) order, mmdetection's
 * concatenation of `permute(0, 2, 3, 1).reshape(n, −1, k)`).
 */
export function flattenLevels(maps: readonly tf.Tensor4D[], k: number): tf.Tensor3D {
  return tf.tidy(() => {
    const flat = maps.map((m) => tf.reshape(m, [m.shape[0], -1, k]) as tf.Tensor3D);
    return flat.length === 1 ? flat[0]! : (tf.concat(flat, 1) as tf.Tensor3D);
  });
}

/** Feature size [h, w] of every level map. */
export function featureSizes(maps: readonly tf.Tensor4D[]): FeatureSize[] {
  return maps.map((m) => [m.shape[1], m.shape[2]] as const);
}

/** One level of one image: raw head outputs and the level's anchors, as typed arrays. */
export interface LevelOutputs {
  /** [h·w·A·k] logits (NHWC order = (y, x, anchor, class)). */
  logits: Float32Array;
  /** [h·w·A·4] deltas. */
  deltas: Float32Array;
  /** [h·w·A·4] anchors of the level. */
  anchors: Float32Array;
}

/**
 * Downloads a batch's head outputs and cuts them per image: `result[i][l]` = image i's rows of level l (views into
 * the downloaded [n·h·w·A·k] logits and [n·h·w·A·4] deltas) with the level's anchors `anchors[l]` ([h·w·A·4], the
 * same for every image). `k` logits per anchor (classes, or 1 for objectness). Does not dispose `out`.
 */
export function imageLevelOutputs(out: DenseHeadOutput, anchors: readonly Float32Array[], k: number): LevelOutputs[][] {
  const n = out.cls[0]!.shape[0];
  const logits = out.cls.map((t) => t.dataSync() as Float32Array);
  const deltas = out.reg.map((t) => t.dataSync() as Float32Array);
  return Array.from({ length: n }, (_, i) =>
    anchors.map((levelAnchors, l) => {
      const a = levelAnchors.length / 4; // anchors of this level in one image
      return {
        logits: logits[l]!.subarray(i * a * k, (i + 1) * a * k),
        deltas: deltas[l]!.subarray(i * a * 4, (i + 1) * a * 4),
        anchors: levelAnchors,
      };
    }),
  );
}
