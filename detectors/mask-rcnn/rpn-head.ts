/**
 * The Region Proposal Network head (Ren et al. 2015) as mmdetection's `RPNHead` (mmdet/models/dense_heads/
 * rpn_head.py, `num_convs=1`), shared across the pyramid levels P2–P6:
 *
 *   rpn_conv  conv 3×3, in → feat channels, ReLU
 *   rpn_cls   conv 1×1 → A objectness logits per location (sigmoid classification: one channel per anchor)
 *   rpn_reg   conv 1×1 → A·4 deltas per location
 *
 * Init as mmdetection's `init_cfg=dict(type='Normal', layer='Conv2d', std=0.01)`: every conv N(0, 0.01), bias 0.
 * Names: `rpn_conv.weight|bias`, `rpn_cls.*`, `rpn_reg.*` (registered as `rpn_head` by the detector).
 *
 * Output layout per level: NHWC [n, h, w, A] and [n, h, w, A·4], channel a·k + j — mmdetection's
 * `permute(0, 2, 3, 1).reshape(n, −1, k)` order, so flattened rows follow the anchor generator's (y, x, anchor).
 *
 * `rpnLoss` turns the head outputs and the typed-array targets of rpn-targets.ts into mmdetection's
 * `loss_rpn_cls` (sigmoid CE) and `loss_rpn_bbox` (L1), both Σ over the sampled anchors / avg_factor. Only the
 * sampled anchors' rows are gathered (the others have weight 0 in mmdetection, so the result is the same).
 */
import * as tf from '@tensorflow/tfjs';
import { convForward } from '../../src/nn/conv-module.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { normalInit, zeros } from '../../src/nn/init.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { binaryCrossEntropyWithLogits, l1Loss, smoothL1Loss } from '../../src/ops/losses.js';
import { rowLoss } from '../../src/ops/row-loss.js';
import { flattenLevels, forwardLevels, type DenseHeadOutput } from '../dense-head.js';
import type { RpnTargets } from './rpn-targets.js';

export interface RpnHeadOptions {
  /** Channels of the pyramid levels. */
  inChannels: number;
  /** Channels of the 3×3 conv; default 256. */
  featChannels?: number;
  /** Anchors per location; default 3. */
  numAnchors?: number;
  rng?: Rng;
  seed?: number | string;
}

/** Raw RPN outputs, one map per level (finest first): objectness logits [n, h, w, A], deltas [n, h, w, A·4]. */
export type RpnHeadOutput = DenseHeadOutput;

export class RPNHead extends Module {
  readonly numAnchors: number;
  readonly featChannels: number;
  readonly rpnConv: Conv2d;
  readonly rpnCls: Conv2d;
  readonly rpnReg: Conv2d;

  constructor(opts: RpnHeadOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    this.numAnchors = opts.numAnchors ?? 3;
    this.featChannels = opts.featChannels ?? 256;
    const weightInit = normalInit(0.01);
    const conv = (inChannels: number, outChannels: number, kernelSize: number) =>
      new Conv2d({ inChannels, outChannels, kernelSize, padding: (kernelSize - 1) >> 1, rng, weightInit, biasInit: zeros });
    this.rpnConv = this.registerModule('rpn_conv', conv(opts.inChannels, this.featChannels, 3));
    this.rpnCls = this.registerModule('rpn_cls', conv(this.featChannels, this.numAnchors, 1));
    this.rpnReg = this.registerModule('rpn_reg', conv(this.featChannels, this.numAnchors * 4, 1));
  }

  /** One level: (logits [n, h, w, A], deltas [n, h, w, A·4]). */
  forwardLevel(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      const h = convForward(this.rpnConv, x, true);
      return [convForward(this.rpnCls, h, false), convForward(this.rpnReg, h, false)];
    });
  }

  /** All levels (the same weights on each). */
  forward(levels: readonly tf.Tensor4D[]): RpnHeadOutput {
    this.assertAlive('forward');
    return forwardLevels(levels, (x) => this.forwardLevel(x));
  }
}

/** Per-level maps [n, h, w, A·k] → [n · Σ h·w·A, k], rows in (image, level, y, x, anchor) order. */
export function flattenRpnLevels(maps: readonly tf.Tensor4D[], k: number): tf.Tensor2D {
  return tf.tidy(() => tf.reshape(flattenLevels(maps, k), [-1, k]) as tf.Tensor2D);
}

export interface RpnLossWeights {
  clsWeight: number;
  bboxWeight: number;
  /** Smooth L1 with this β for the deltas (Cascade R-CNN's RPN: 1/9); absent: L1 (Mask R-CNN). */
  bboxBeta?: number;
}

/**
 * mmdetection's RPN losses from head outputs and targets: loss_rpn_cls = Σ_sampled BCE(logit, 1[positive]) /
 * avg_factor · clsWeight; loss_rpn_bbox = Σ_positives |delta − target| / avg_factor · bboxWeight.
 */
export function rpnLoss(out: RpnHeadOutput, t: RpnTargets, w: RpnLossWeights): { loss_rpn_cls: tf.Scalar; loss_rpn_bbox: tf.Scalar } {
  return tf.tidy(() => {
    const cls = flattenRpnLevels(out.cls, 1);
    const reg = flattenRpnLevels(out.reg, 4);
    const o = { reduction: 'mean' as const, avgFactor: t.avgFactor };
    const lossCls = rowLoss(cls, t.sampled, t.sampledTargets, (p, y) => binaryCrossEntropyWithLogits(p, y, o));
    const beta = w.bboxBeta;
    const lossBbox = rowLoss(reg, t.posIndices, t.bboxTargets, (p, y) => (beta === undefined ? l1Loss(p, y, o) : smoothL1Loss(p, y, { ...o, beta })));
    return {
      loss_rpn_cls: tf.mul(lossCls, w.clsWeight) as tf.Scalar,
      loss_rpn_bbox: tf.mul(lossBbox, w.bboxWeight) as tf.Scalar,
    };
  });
}
