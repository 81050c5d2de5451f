/**
 * RetinaNet's head (Lin et al. 2017), mmdetection's `RetinaHead` (mmdet/models/dense_heads/retina_head.py):
 * shared across all pyramid levels,
 *
 *   classification: 4 × (conv 3×3, feat channels, ReLU) → `retina_cls` conv 3×3 → A·C logits per location
 *   regression:     4 × (conv 3×3, feat channels, ReLU) → `retina_reg` conv 3×3 → A·4 deltas per location
 *
 * with A = anchors per location (9) and C = classes (sigmoid classification: no background channel).
 * Init as mmdetection's `init_cfg`: every conv Normal(0, 0.01), bias 0; `retina_cls` bias = −log((1 − p)/p) with the
 * prior probability p = 0.01 (Focal Loss paper §4.1), so every anchor starts at score ≈ p.
 * Names: `cls_convs.{i}.conv.weight|bias`, `reg_convs.{i}.conv.*`, `retina_cls.*`, `retina_reg.*` (the detector
 * registers the head as `bbox_head`).
 *
 * Output layout: per level an NHWC map [n, h, w, A·C] whose channel index is a·C + c — mmdetection's
 * `permute(0, 2, 3, 1).reshape(n, −1, C)` order, so `flattenLevels` (../dense-head.ts) gives rows in the anchor
 * generator's (y, x, anchor) order.
 */
import * as tf from '@tensorflow/tfjs';
import { convForward, type ConvModule } from '../../src/nn/conv-module.js';
import { ModuleList } from '../../src/nn/module-list.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { constantInit, normalInit, zeros } from '../../src/nn/init.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { forwardLevels, type DenseHeadOutput } from '../dense-head.js';
import { checkNumClasses, convStack } from '../head-layers.js';

export interface RetinaHeadOptions {
  numClasses: number;
  /** Channels of the pyramid levels. */
  inChannels: number;
  /** Channels of the stacked convs; default 256. */
  featChannels?: number;
  /** Stacked convs per branch; default 4. */
  stackedConvs?: number;
  /** Anchors per location; default 9. */
  numAnchors?: number;
  /** Prior probability for the classification bias; default 0.01. */
  priorProb?: number;
  /** Std of the Normal weight init; default 0.01. */
  initStd?: number;
  rng?: Rng;
  seed?: number | string;
}

/** Raw head outputs, one map per level (finest first): logits [n, h, w, A·C], deltas [n, h, w, A·4]. */
export type RetinaHeadOutput = DenseHeadOutput;

/** −log((1 − p)/p): the bias that makes sigmoid(bias) = p (mmcv's `bias_init_with_prob`). */
export function biasInitWithProb(p: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`priorProb must be in (0, 1), got ${p}`);
  return -Math.log((1 - p) / p);
}

export class RetinaHead extends Module {
  readonly numClasses: number;
  readonly numAnchors: number;
  readonly featChannels: number;
  readonly clsConvs: readonly ConvModule[];
  readonly regConvs: readonly ConvModule[];
  readonly retinaCls: Conv2d;
  readonly retinaReg: Conv2d;

  constructor(opts: RetinaHeadOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    checkNumClasses('RetinaHead', opts.numClasses);
    this.numClasses = opts.numClasses;
    this.numAnchors = opts.numAnchors ?? 9;
    this.featChannels = opts.featChannels ?? 256;
    const weightInit = normalInit(opts.initStd ?? 0.01);
    const branch = () => convStack({ count: opts.stackedConvs ?? 4, inChannels: opts.inChannels, channels: this.featChannels, rng, weightInit });
    const cls = branch();
    this.clsConvs = this.registerModule('cls_convs', new ModuleList(cls.layers)).toArray();
    this.regConvs = this.registerModule('reg_convs', new ModuleList(branch().layers)).toArray();
    const last = cls.outChannels;
    this.retinaCls = this.registerModule(
      'retina_cls',
      new Conv2d({
        inChannels: last,
        outChannels: this.numAnchors * this.numClasses,
        kernelSize: 3,
        padding: 1,
        rng,
        weightInit,
        biasInit: constantInit(biasInitWithProb(opts.priorProb ?? 0.01)),
      }),
    );
    this.retinaReg = this.registerModule(
      'retina_reg',
      new Conv2d({ inChannels: last, outChannels: this.numAnchors * 4, kernelSize: 3, padding: 1, rng, weightInit, biasInit: zeros }),
    );
  }

  /** One level: (logits [n, h, w, A·C], deltas [n, h, w, A·4]). */
  forwardLevel(x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    return tf.tidy(() => {
      let c = x;
      for (const conv of this.clsConvs) c = conv.forward(c);
      let r = x;
      for (const conv of this.regConvs) r = conv.forward(r);
      return [convForward(this.retinaCls, c, false), convForward(this.retinaReg, r, false)];
    });
  }

  /** All levels (the same weights on each). */
  forward(levels: readonly tf.Tensor4D[]): RetinaHeadOutput {
    this.assertAlive('forward');
    return forwardLevels(levels, (x) => this.forwardLevel(x));
  }
}
