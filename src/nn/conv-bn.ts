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
import { derivedTensorsEnabled } from './derived-tensors.js';
import { conv2d, explicitPadding } from './functional.js';
import { keptWinogradFilters } from './kept-winograd.js';

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

/**
 * The folded filter W·γ/σ and shift of `conv` + `bn` for an inference call, with the Winograd filters when that
 * path applies. In eval mode they are kept on the conv (`Conv2d.derived`, keyed by the weight, the conv bias and the
 * four BN tensors), so repeated forwards skip the fold and the filter transform, and Winograd pays from 64 tiles;
 * in training mode (a frozen BN outside the tape, e.g. activation checkpointing's first pass) they are built per call.
 */
function foldedConv(conv: Conv2d, bn: BatchNorm2d, x: tf.Tensor4D): { filter: tf.Tensor4D; shift: tf.Tensor1D; winograd: tf.Tensor4D[] | null } {
  const build = (): [tf.Tensor4D, tf.Tensor1D] => {
    const { scale, shift } = foldedBn(bn, conv.bias as tf.Tensor1D | null);
    return [tf.mul(conv.weight, scale) as tf.Tensor4D, shift];
  };
  const sources = [conv.weight, bn.weight, bn.bias, bn.runningMean, bn.runningVar, ...(conv.bias ? [conv.bias] : [])];
  const keep = !conv.training && derivedTensorsEnabled();
  const [filter, shift] = keep ? (conv.derived.get<tf.Tensor>('bn-fold', sources, build) as [tf.Tensor4D, tf.Tensor1D]) : build();
  return { filter, shift, winograd: keptWinogradFilters(conv, x, filter, sources) };
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
    const { filter, shift, winograd } = foldedConv(conv, bn, x);
    if (winograd || winogradApplies(x, filter, conv)) return winogradConv3x3(x, filter, shift, relu, winograd ?? undefined);
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
