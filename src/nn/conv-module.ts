/**
 * `ConvModule`: mmcv's `ConvModule` without normalisation — a `Conv2d` (with bias) registered as the child `conv`,
 * optionally followed by ReLU — so that state-dict names follow mmdetection's (`lateral_convs.0.conv.weight`,
 * `bbox_head.cls_convs.3.conv.bias`). Used by the FPN and the dense detection heads.
 *
 * Inference fast path: when no gradient tape is recording, conv + bias + ReLU run as ONE `tf.fused.conv2d`
 * (XNNPACK applies bias and activation in the conv's output pass; a separate add / ReLU costs a single-threaded
 * pass over the whole map on wasm); wide 3×3 stride-1 convs on large maps run as Winograd F(4×4, 3×3) instead
 * (engine/kernels/winograd-conv.ts: ~3× faster at 256 channels, outputs within ~1e-5 of the output scale). In eval
 * mode the transformed filters are kept on the conv (`Conv2d.derived`) until its weight changes, which also makes
 * Winograd pay on smaller maps (≥ 64 tiles instead of 512). With a tape, the ordinary `Conv2d` forward (separate
 * bias add, whose gradient the tape needs) runs.
 *
 * Also here: `xavierUniform`, mmcv's `xavier_init(distribution='uniform')` as FPN's `init_cfg` uses it:
 * weight ~ U(−b, b), b = gain·√(6 / (fan_in + fan_out)), bias 0.
 */
import * as tf from '@tensorflow/tfjs';
import { winogradApplies, winogradConv3x3 } from '../engine/kernels/winograd-conv.js';
import { Conv2d } from './conv2d.js';
import { explicitPadding } from './functional.js';
import { computeFans, uniform, zeros, type Initializer } from './init.js';
import { keptWinogradFilters } from './kept-winograd.js';
import { Module } from './module.js';
import type { Rng } from './rng.js';

/** `nn.init.xavier_uniform_(w, gain)`: U(±gain·√(6/(fan_in + fan_out))), fans as PyTorch computes them. */
export function xavierUniform(gain = 1): Initializer {
  return (shape, rng) => {
    const { fanIn, fanOut } = computeFans(shape);
    const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
    return uniform(shape, rng, -bound, bound);
  };
}

export interface ConvModuleOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** Default 1. */
  stride?: number;
  /** Default (kernelSize − 1) / 2 (a "same" conv at stride 1). */
  padding?: number;
  /** ReLU after the conv (mmcv's default act_cfg); default false (FPN uses act_cfg=None). */
  relu?: boolean;
  rng: Rng;
  /** Default `xavierUniform()`. */
  weightInit?: Initializer;
  /** Default zeros. */
  biasInit?: Initializer;
}

export class ConvModule extends Module {
  readonly conv: Conv2d;
  readonly relu: boolean;

  constructor(opts: ConvModuleOptions) {
    super();
    this.relu = opts.relu ?? false;
    this.conv = this.registerModule(
      'conv',
      new Conv2d({
        inChannels: opts.inChannels,
        outChannels: opts.outChannels,
        kernelSize: opts.kernelSize,
        stride: opts.stride ?? 1,
        padding: opts.padding ?? (opts.kernelSize - 1) >> 1,
        bias: true,
        rng: opts.rng,
        weightInit: opts.weightInit ?? xavierUniform(),
        biasInit: opts.biasInit ?? zeros,
      }),
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return convForward(this.conv, x, this.relu);
  }
}

/** `conv(x)` (+ ReLU): one fused conv without a tape, the differentiable path with one (see the file comment). */
export function convForward(conv: Conv2d, x: tf.Tensor4D, relu: boolean): tf.Tensor4D {
  if (tf.engine().state.gradientDepth === 0 && conv.groups === 1) {
    const weight = conv.weight as tf.Tensor4D;
    const kept = keptWinogradFilters(conv, x, weight);
    if (kept || winogradApplies(x, weight, conv)) return winogradConv3x3(x, weight, (conv.bias as tf.Tensor1D | null) ?? null, relu, kept ?? undefined);
    return tf.fused.conv2d({
      x,
      filter: weight,
      strides: conv.stride,
      pad: explicitPadding(conv.padding),
      dataFormat: 'NHWC',
      dilations: conv.dilation,
      bias: conv.bias ?? undefined,
      activation: relu ? 'relu' : 'linear',
    });
  }
  return tf.tidy(() => {
    const y = conv.forward(x);
    return relu ? tf.relu(y) : y;
  });
}
