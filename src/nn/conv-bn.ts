/**
 * Conv → BatchNorm (→ ReLU) with the BN folded into the conv when it normalises with its running statistics (eval
 * mode, or frozen as mmdetection trains backbones):
 * y = conv(x, W·γ/σ) + (β − μ·γ/σ) [+ bias·γ/σ], σ = √(running_var + eps).
 *
 * Without a gradient tape that is ONE `tf.fused.conv2d` with bias and ReLU (XNNPACK applies both in the conv's own
 * output pass; the separate BatchNorm and ReLU kernels run on one thread on wasm and cost as much as a threaded 1×1
 * conv), or, for a wide 3×3 stride-1 conv (`winogradApplies`: the backbone's bottleneck conv2 in stages 1–3 at
 * detection sizes), Winograd F(4×4, 3×3) with the folded weight, bias and ReLU (engine/kernels/winograd-conv.ts).
 * Under a tape the fold is built from differentiable tf ops on the parameter vectors, so the weight, γ and β get
 * their gradients while the activations skip the BN pass forwards and backwards. A BN with batch statistics, or a
 * grouped conv, runs unfolded. Same result up to float32 rounding.
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchNorm2d } from './batchnorm2d.js';
import { winogradApplies, winogradConv3x3 } from '../engine/kernels/winograd-conv.js';
import { Conv2d } from './conv2d.js';
import { conv2d, explicitPadding } from './functional.js';

/** True when `bn` can be folded into a preceding conv for this call (no batch statistics, no tape). */
export function canFoldBn(bn: BatchNorm2d): boolean {
  return !bn.usesBatchStats && tf.engine().state.gradientDepth === 0;
}

/** The folded per-output-channel scale γ/σ and shift β − μ·γ/σ (+ bias·γ/σ) of `bn` after a conv with `bias`. */
export function foldedBn(bn: BatchNorm2d, bias: tf.Tensor1D | null = null): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  return tf.tidy(() => {
    const scale = tf.mul(bn.weight, tf.rsqrt(tf.add(bn.runningVar, bn.eps))) as tf.Tensor1D;
    const centred = bias ? tf.sub(bias, bn.runningMean) : tf.neg(bn.runningMean);
    const shift = tf.add(bn.bias, tf.mul(centred, scale)) as tf.Tensor1D;
    return { scale, shift };
  });
}

let foldOnTape = true;

/** Turn the folding under a gradient tape off (true → on again): for the tests that compare both and A/B timing. */
export function setFoldBnOnTape(on: boolean): void {
  foldOnTape = on;
}

/**
 * `bn(conv(x))`, then ReLU when `relu`. A BN on running statistics (eval mode or frozen, as mmdetection trains its
 * backbones: norm_eval) after an ungrouped conv is folded into it:
 *  - without a gradient tape, as ONE `tf.fused.conv2d` (or Winograd for a wide 3×3 stride-1 conv);
 *  - under a tape, differentiably: y = conv(x, W·s) + t with s = γ/σ, t = β − μ·s computed by tf ops on the
 *    parameter vectors, so W, γ and β get their gradients through the small weight ops while the full-size
 *    activations skip the BN pass and its backward (the conv is `conv2d`, Winograd where it applies).
 * Otherwise (batch statistics) the ordinary conv, BN (custom op with its closed-form backward) and ReLU run.
 */
export function convBn(conv: { forward(x: tf.Tensor4D): tf.Tensor4D }, bn: BatchNorm2d, x: tf.Tensor4D, relu: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const foldable = conv instanceof Conv2d && conv.groups === 1 && !bn.usesBatchStats;
    if (foldable && tf.engine().state.gradientDepth > 0 && foldOnTape) {
      const { scale, shift } = foldedBn(bn, conv.bias as tf.Tensor1D | null);
      const y = conv2d(x, tf.mul(conv.weight, scale) as tf.Tensor4D, shift, { stride: conv.stride, padding: conv.padding, dilation: conv.dilation });
      return relu ? tf.relu(y) : y;
    }
    if (!foldable || !canFoldBn(bn)) {
      const y = bn.forward(conv.forward(x));
      return relu ? tf.relu(y) : y;
    }
    const { scale, shift } = foldedBn(bn, conv.bias as tf.Tensor1D | null);
    const filter = tf.mul(conv.weight, scale) as tf.Tensor4D;
    if (winogradApplies(x, filter, conv)) return winogradConv3x3(x, filter, shift, relu);
    return tf.fused.conv2d({
      x,
      filter,
      strides: conv.stride,
      pad: explicitPadding(conv.padding),
      dataFormat: 'NHWC',
      dilations: conv.dilation,
      bias: shift,
      activation: relu ? 'relu' : 'linear',
    });
  });
}
