/**
 * Conv → BatchNorm (→ ReLU) with the BN folded into the conv when that is exact and nothing needs a gradient:
 * y = conv(x, W·γ/σ) + (β − μ·γ/σ) [+ bias·γ/σ], σ = √(running_var + eps), as ONE `tf.fused.conv2d` with bias and
 * ReLU (XNNPACK applies both in the conv's own output pass; the separate BatchNorm and ReLU kernels run on one
 * thread on wasm and cost as much as a threaded 1×1 conv).
 *
 * Used only when the BN normalises with its running statistics (eval mode or frozen), the conv is ungrouped and no
 * gradient tape is recording (`tf.engine().state.gradientDepth === 0`); otherwise the ordinary conv, BN (custom op
 * with its closed-form backward) and ReLU run. Same result up to float32 rounding.
 *
 * A folded 3×3 stride-1 conv that is wide and large enough (`winogradApplies`: the backbone's bottleneck conv2 in
 * stages 1–3 at detection sizes) runs as Winograd F(4×4, 3×3) with the folded weight, bias and ReLU
 * (engine/kernels/winograd-conv.ts: a quarter of the multiply-adds, outputs within ~1e-5 of the output scale).
 */
import * as tf from '@tensorflow/tfjs';
import type { BatchNorm2d } from './batchnorm2d.js';
import { winogradApplies, winogradConv3x3 } from '../engine/kernels/winograd-conv.js';
import { Conv2d } from './conv2d.js';
import { explicitPadding } from './functional.js';

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

/** `bn(conv(x))`, then ReLU when `relu`; folded into one fused conv when `canFoldBn(bn)` and `conv.groups === 1`. */
export function convBn(conv: { forward(x: tf.Tensor4D): tf.Tensor4D }, bn: BatchNorm2d, x: tf.Tensor4D, relu: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    if (!(conv instanceof Conv2d) || conv.groups !== 1 || !canFoldBn(bn)) {
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
