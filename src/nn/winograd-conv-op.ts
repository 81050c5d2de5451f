/**
 * A differentiable 3×3 stride-1 "same" convolution by Winograd F(4×4, 3×3) for the training path on wasm (issue 23):
 * the wide 3×3 convs of the FPN, the RetinaNet / RPN towers, the mask head and the backbone's stride-1 conv2 are most
 * of a detector's training step, and XNNPACK's direct conv on wasm SIMD runs at about half oneDNN's rate per
 * multiply-add. Winograd does a quarter of the multiply-adds (engine/kernels/winograd-conv.ts).
 *
 *   forward   y = conv(x, W) (+ b)                                  Winograd
 *   dx        = conv(dy, W′), W′[i, j, co, ci] = W[2−i, 2−j, ci, co] a 3×3 stride-1 pad-1 conv again: Winograd
 *   dW        Σ_k Kᵀ_k (V_kᵀ · (A dy Aᵀ)_k)                        Winograd too (engine/kernels/winograd-filter-grad.ts)
 *   db        Σ dy over n, h, w
 *
 * `conv2d` (src/nn/functional.ts) takes it wherever `winogradShapeApplies` (≥ 64 channels, ≥ 512 output tiles,
 * wasm), with or without a tape. Float32 Winograd differs from the direct conv by ~1e-6–1e-5 of the output scale
 * (forward, dx and dW alike; tested), far below what SGD notices. `setWinograd(false)` turns it off with the
 * inference path; `setWinogradFilterGrad(false)` sends dW back to the direct Conv2DBackpropFilter kernel (A/B timing:
 * RetinaNet's head conv on P3, 1×100×167×256 → 256, 1.15 → 0.65 s).
 */
import * as tf from '@tensorflow/tfjs';
import { winogradConv3x3, winogradShapeApplies } from '../engine/kernels/winograd-conv.js';
import { winogradFilterGrad } from '../engine/kernels/winograd-filter-grad.js';
import { customOp } from './custom-op.js';
import { conv2dFilterGrad } from '../engine/kernels/conv-filter-grad.js';

const PAD1: [[0, 0], [1, 1], [1, 1], [0, 0]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
const SAME = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 } as const;

let filterGradByWinograd = true;

/** Compute dW by the direct Conv2DBackpropFilter kernel instead of Winograd (false), or by Winograd again (true). */
export function setWinogradFilterGrad(on: boolean): void {
  filterGradByWinograd = on;
}

/** The backward-input filter W′ [3, 3, Cout, Cin] of W [3, 3, Cin, Cout]: rotated by 180°, in / out swapped. */
function flipped(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));
}

/** [dx, dW] of the Winograd conv y = conv(x, w) (stride 1, pad 1) for dy: the op's backward, also used by the TiedBottleneck's split op. */
export function winogradConvBackward(dy: tf.Tensor4D, x: tf.Tensor4D, w: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const wt = flipped(w);
  const dx = winogradShapeApplies(dy, wt, SAME) ? winogradConv3x3(dy, wt, null, false) : tf.conv2d(dy, wt, 1, PAD1);
  wt.dispose();
  const dw = filterGradByWinograd ? winogradFilterGrad(x, dy) : conv2dFilterGrad(x, dy, [1, 1], PAD1, w.shape);
  return [dx, dw];
}

const withBias = customOp<tf.Tensor4D>(([x, w, b], save) => {
  save([x!, w!]);
  return {
    value: winogradConv3x3(x as tf.Tensor4D, w as tf.Tensor4D, b as tf.Tensor1D, false),
    gradFunc: (dy, [xs, ws]) => [...winogradConvBackward(dy as tf.Tensor4D, xs as tf.Tensor4D, ws as tf.Tensor4D), tf.sum(dy, [0, 1, 2])],
  };
});

const withoutBias = customOp<tf.Tensor4D>(([x, w], save) => {
  save([x!, w!]);
  return {
    value: winogradConv3x3(x as tf.Tensor4D, w as tf.Tensor4D, null, false),
    gradFunc: (dy, [xs, ws]) => winogradConvBackward(dy as tf.Tensor4D, xs as tf.Tensor4D, ws as tf.Tensor4D),
  };
});

/** conv2d(x, w, stride 1, padding 1) + b, NHWC, by Winograd, differentiable in x, w and b. Check `winogradShapeApplies` first. */
export function winogradConv2d(x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D | null): tf.Tensor4D {
  return b ? withBias(x, w, b) : withoutBias(x, w);
}
