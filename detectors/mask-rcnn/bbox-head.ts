/**
 * The box head of Mask R-CNN, mmdetection's `Shared2FCBBoxHead` (mmdet/models/roi_heads/bbox_heads/
 * convfc_bbox_head.py, `num_shared_fcs=2`, no convs, class-specific regression):
 *
 *   x = RoI features [R, 7, 7, C] → flattened in PyTorch's C·7·7 order (channel-major, as `x.flatten(1)` of NCHW)
 *   shared_fcs.0  Linear(C·49 → fc), ReLU;  shared_fcs.1  Linear(fc → fc), ReLU
 *   fc_cls        Linear(fc → numClasses + 1)   softmax scores, background LAST (mmdet's label `num_classes`)
 *   fc_reg        Linear(fc → 4·numClasses)     class-specific deltas, class c at columns 4c … 4c + 3
 *
 * Init as mmdetection: shared FCs Xavier-uniform, fc_cls N(0, 0.01), fc_reg N(0, 0.001), biases 0. The flatten
 * order makes mmdetection's `shared_fcs.0.weight` load without a permutation.
 *
 * `bboxHeadLoss` is mmdetection's `BBoxHead.loss`: loss_cls = softmax CE over the sampled RoIs / #RoIs (label
 * weights 1, avg_factor = number of RoIs with weight > 0); loss_bbox = L1 between the positives' deltas of their
 * GT class and the encoded targets, Σ / #RoIs (mmdet's `avg_factor=bbox_targets.size(0)`: all sampled RoIs, not
 * only the positives); `acc` = classification accuracy in percent (logged, not a loss).
 */
import * as tf from '@tensorflow/tfjs';
import { xavierUniform } from '../../src/nn/conv-module.js';
import { ModuleList } from '../../src/nn/module-list.js';
import { normalInit, zeros } from '../../src/nn/init.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { crossEntropyLoss, l1Loss, smoothL1Loss } from '../../src/ops/losses.js';
import { rowLoss } from '../../src/ops/row-loss.js';
import { checkNumClasses, stackLayers } from '../head-layers.js';

export interface BBoxHeadOptions {
  numClasses: number;
  /** Channels of the RoI features. */
  inChannels: number;
  /** RoI feature side (7). */
  roiFeatSize?: number;
  /** Width of the shared FCs; default 1024. */
  fcChannels?: number;
  /** Number of shared FCs; default 2. */
  numSharedFcs?: number;
  /** mmdet `reg_class_agnostic`: fc_reg predicts one box (4 deltas) per RoI instead of one per class (Cascade R-CNN). */
  regClassAgnostic?: boolean;
  rng?: Rng;
  seed?: number | string;
}

export interface BBoxHeadOutput {
  /** [R, numClasses + 1] logits (background last). */
  cls: tf.Tensor2D;
  /** [R, 4·numClasses] deltas ([R, 4] when class-agnostic). */
  reg: tf.Tensor2D;
}

export class Shared2FCBBoxHead extends Module {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly roiFeatSize: number;
  readonly regClassAgnostic: boolean;
  readonly sharedFcs: readonly Linear[];
  readonly fcCls: Linear;
  readonly fcReg: Linear;

  constructor(opts: BBoxHeadOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    checkNumClasses('Shared2FCBBoxHead', opts.numClasses);
    this.numClasses = opts.numClasses;
    this.inChannels = opts.inChannels;
    this.roiFeatSize = opts.roiFeatSize ?? 7;
    this.regClassAgnostic = opts.regClassAgnostic ?? false;
    const fcs = stackLayers(
      opts.numSharedFcs ?? 2,
      opts.inChannels * this.roiFeatSize ** 2,
      opts.fcChannels ?? 1024,
      (inFeatures, outFeatures) => new Linear({ inFeatures, outFeatures, rng, weightInit: xavierUniform(), biasInit: zeros }),
    );
    this.sharedFcs = this.registerModule('shared_fcs', new ModuleList(fcs.layers)).toArray();
    const last = fcs.outChannels;
    this.fcCls = this.registerModule(
      'fc_cls',
      new Linear({ inFeatures: last, outFeatures: this.numClasses + 1, rng, weightInit: normalInit(0.01), biasInit: zeros }),
    );
    this.fcReg = this.registerModule(
      'fc_reg',
      new Linear({ inFeatures: last, outFeatures: this.regClassAgnostic ? 4 : 4 * this.numClasses, rng, weightInit: normalInit(0.001), biasInit: zeros }),
    );
  }

  /** RoI features [R, s, s, C] (NHWC) → class logits and class-specific deltas. */
  forward(roiFeats: tf.Tensor4D): BBoxHeadOutput {
    this.assertAlive('forward');
    const [R, h, w, c] = roiFeats.shape;
    if (h !== this.roiFeatSize || w !== this.roiFeatSize || c !== this.inChannels) {
      throw new Error(`Shared2FCBBoxHead: RoI features must be [R, ${this.roiFeatSize}, ${this.roiFeatSize}, ${this.inChannels}], got [${roiFeats.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      // NHWC → NCHW flatten (PyTorch's order)
      let x = tf.reshape(tf.transpose(roiFeats, [0, 3, 1, 2]), [R, c * h * w]) as tf.Tensor2D;
      for (const fc of this.sharedFcs) x = tf.relu(fc.forward(x));
      return { cls: this.fcCls.forward(x), reg: this.fcReg.forward(x) };
    });
  }
}

/** Sampled RoIs' targets (rows in RoI order). */
export interface BBoxTargets {
  /** [R] class of each RoI, `numClasses` for background. */
  labels: Int32Array;
  /** Rows of the positive RoIs (labels < numClasses). */
  posRows: Int32Array;
  /** [#pos · 4] encoded deltas of the positives' GT boxes (same order as posRows). */
  deltas: Float32Array;
}

export interface BBoxLossWeights {
  clsWeight: number;
  bboxWeight: number;
}

/** Variants of the box loss: Cascade R-CNN's heads regress class-agnostic deltas with SmoothL1Loss(beta=1). */
export interface BBoxLossOptions {
  /** `out.reg` is [R, 4] (one box per RoI) rather than [R, 4·numClasses]. */
  classAgnostic?: boolean;
  /** Smooth L1 with this β instead of L1 (mmdet `SmoothL1Loss`; absent: `L1Loss`). */
  smoothL1Beta?: number;
}

/** mmdetection's `BBoxHead.loss` (see the file comment): { loss_cls, loss_bbox, acc }. */
export function bboxHeadLoss(
  out: BBoxHeadOutput,
  t: BBoxTargets,
  numClasses: number,
  w: BBoxLossWeights,
  opts: BBoxLossOptions = {},
): Record<'loss_cls' | 'loss_bbox' | 'acc', tf.Scalar> {
  const R = out.cls.shape[0];
  if (t.labels.length !== R) throw new Error(`bboxHeadLoss: ${R} RoIs but ${t.labels.length} labels`);
  return tf.tidy(() => {
    const avgFactor = Math.max(R, 1);
    const lossCls = crossEntropyLoss(out.cls, t.labels, { reduction: 'mean', avgFactor });
    // row r, class c of the [R, C, 4] view → row r·C + c of [R·C, 4] (class-agnostic: row r of [R, 4])
    const k = opts.classAgnostic ? 1 : numClasses;
    const flat = opts.classAgnostic ? Int32Array.from(t.posRows) : Int32Array.from(t.posRows, (r) => r * numClasses + t.labels[r]!);
    const reduce = { reduction: 'mean' as const, avgFactor: R };
    const beta = opts.smoothL1Beta;
    const lossBbox = rowLoss(tf.reshape(out.reg, [R * k, 4]), flat, t.deltas, (p, y) =>
      beta === undefined ? l1Loss(p, y, reduce) : smoothL1Loss(p, y, { ...reduce, beta }),
    );
    const acc =
      R > 0 ? tf.mul(tf.mean(tf.cast(tf.equal(tf.argMax(out.cls, 1), tf.tensor1d(t.labels, 'int32')), 'float32')), 100) : tf.scalar(0);
    return {
      loss_cls: tf.mul(lossCls, w.clsWeight) as tf.Scalar,
      loss_bbox: tf.mul(lossBbox, w.bboxWeight) as tf.Scalar,
      acc: acc as tf.Scalar,
    };
  });
}
