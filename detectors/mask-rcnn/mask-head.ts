/**
 * The mask head of Mask R-CNN, mmdetection's `FCNMaskHead` (mmdet/models/roi_heads/mask_heads/fcn_mask_head.py)
 * with its defaults (upsample 'deconv' ×2, class-specific masks):
 *
 *   convs.{i}    numConvs × (conv 3×3, C → convChannels, ReLU)             on [P, 14, 14, C] RoI features
 *   upsample     ConvTranspose2d(convChannels → convChannels, 2, stride 2), ReLU          → [P, 28, 28, ·]
 *   conv_logits  conv 1×1 → numClasses                                      → [P, 28, 28, numClasses] logits
 *
 * Init as mmdetection: the convs are mmcv `ConvModule`s (kaiming-normal fan-out ReLU, bias 0); `init_weights` sets
 * upsample and conv_logits to kaiming-normal fan-out ReLU, bias 0. Names `convs.{i}.conv.*`, `upsample.*`,
 * `conv_logits.*` (registered as `roi_head.mask_head`).
 *
 * `maskHeadLoss` is mmdetection's `FCNMaskHead.loss_and_target` with `CrossEntropyLoss(use_mask=True)`: for each
 * positive RoI the logits of its GT class only (`pred[i, label_i]`), binary cross-entropy with logits against the
 * 28×28 target, averaged over all P·28·28 elements, times the loss weight; 0 (still connected) without positives.
 * `classProbabilities` is the inference side, the sigmoid of each RoI's predicted class channel, computed from the
 * RoI features without the other classes' channels: conv_logits is a 1×1 conv, so
 * each RoI's channel is its 28×28×C features times column `label` of the weight, plus that class's bias — one
 * batched [P, M·M, C] × [P, C, 1] product instead of [P·M·M, C] × [C, numClasses] (80× fewer multiply-adds in the
 * last layer; the same sums in another order, within ~1e-6).
 */
import * as tf from '@tensorflow/tfjs';
import { convForward, type ConvModule } from '../../src/nn/conv-module.js';
import { ModuleList } from '../../src/nn/module-list.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { kaimingNormalFanOutRelu, zeros } from '../../src/nn/init.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { binaryCrossEntropyWithLogits } from '../../src/ops/losses.js';
import { checkNumClasses, convStack } from '../head-layers.js';
import { ConvTranspose2d } from '../../src/nn/conv-transpose2d.js';

export interface MaskHeadOptions {
  numClasses: number;
  /** Channels of the RoI features. */
  inChannels: number;
  /** Default 4. */
  numConvs?: number;
  /** Default 256. */
  convChannels?: number;
  rng?: Rng;
  seed?: number | string;
}

export class FCNMaskHead extends Module {
  readonly numClasses: number;
  readonly inChannels: number;
  readonly convs: readonly ConvModule[];
  readonly upsample: ConvTranspose2d;
  readonly convLogits: Conv2d;

  constructor(opts: MaskHeadOptions) {
    super();
    const rng = opts.rng ?? new Rng(opts.seed ?? 0);
    checkNumClasses('FCNMaskHead', opts.numClasses);
    this.numClasses = opts.numClasses;
    this.inChannels = opts.inChannels;
    const ch = opts.convChannels ?? 256;
    const convs = convStack({ count: opts.numConvs ?? 4, inChannels: opts.inChannels, channels: ch, rng, weightInit: kaimingNormalFanOutRelu });
    this.convs = this.registerModule('convs', new ModuleList(convs.layers)).toArray();
    const upIn = convs.outChannels;
    this.upsample = this.registerModule(
      'upsample',
      new ConvTranspose2d({ inChannels: upIn, outChannels: ch, kernelSize: 2, stride: 2, rng, weightInit: kaimingNormalFanOutRelu, biasInit: zeros }),
    );
    this.convLogits = this.registerModule(
      'conv_logits',
      new Conv2d({ inChannels: ch, outChannels: this.numClasses, kernelSize: 1, rng, weightInit: kaimingNormalFanOutRelu, biasInit: zeros }),
    );
  }

  /** RoI features [P, s, s, C] → mask logits [P, 2s, 2s, numClasses]. */
  forward(roiFeats: tf.Tensor4D): tf.Tensor4D {
    this.assertAlive('forward');
    if (roiFeats.shape[3] !== this.inChannels) {
      throw new Error(`FCNMaskHead: RoI features must have ${this.inChannels} channels, got [${roiFeats.shape.join(', ')}]`);
    }
    return tf.tidy(() => convForward(this.convLogits, this.upsampled(roiFeats), false));
  }

  /** Inference: sigmoid of each RoI's class-`labels[i]` logits, [P, 2s, 2s] (see the file comment). */
  classProbabilities(roiFeats: tf.Tensor4D, labels: Int32Array): tf.Tensor3D {
    this.assertAlive('classProbabilities');
    const P = roiFeats.shape[0];
    if (labels.length !== P) throw new Error(`mask head: ${P} RoIs but ${labels.length} labels`);
    for (const l of labels) {
      if (!Number.isInteger(l) || l < 0 || l >= this.numClasses) throw new Error(`mask head: label ${l} outside [0, ${this.numClasses})`);
    }
    if (P === 0) {
      const M = 2 * roiFeats.shape[1];
      return tf.zeros([0, M, M]) as tf.Tensor3D;
    }
    return tf.tidy(() => {
      const up = this.upsampled(roiFeats); // [P, M, M, ch]
      const [, M, , ch] = up.shape;
      const idx = tf.tensor1d(labels, 'int32');
      // conv_logits weight [1, 1, ch, numClasses] → the labels' columns [P, ch, 1]; bias → [P, 1, 1]
      const w = tf.gather(tf.reshape(this.convLogits.weight, [ch, this.numClasses]), idx, 1); // [ch, P]
      const cols = tf.reshape(tf.transpose(w), [P, ch, 1]);
      let logits = tf.matMul(tf.reshape(up, [P, M * M, ch]), cols); // [P, M·M, 1]
      if (this.convLogits.bias) logits = tf.add(logits, tf.reshape(tf.gather(this.convLogits.bias, idx), [P, 1, 1]));
      return tf.sigmoid(tf.reshape(logits, [P, M, M])) as tf.Tensor3D;
    });
  }

  /** RoI features through the convs, the ×2 deconv and its ReLU: [P, 2s, 2s, convChannels]. */
  private upsampled(roiFeats: tf.Tensor4D): tf.Tensor4D {
    let x = roiFeats;
    for (const conv of this.convs) x = conv.forward(x);
    return tf.relu(this.upsample.forward(x));
  }
}

/** Logits [P, M, M, C] → [P, M, M] of each RoI's class `labels[i]` (a one-hot contraction, differentiable). */
export function selectClass(logits: tf.Tensor4D, labels: Int32Array): tf.Tensor3D {
  const [P, M, , C] = logits.shape;
  if (labels.length !== P) throw new Error(`mask head: ${P} RoIs but ${labels.length} labels`);
  return tf.tidy(() => {
    const onehot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), C), 'float32'); // int32 then cast: wasm OneHot
    return tf.sum(tf.mul(logits, tf.reshape(onehot, [P, 1, 1, C])), 3).reshape([P, M, M]) as tf.Tensor3D;
  });
}

/** mmdetection's mask loss (see the file comment): { loss_mask }. `targets` [P, M, M]. */
export function maskHeadLoss(logits: tf.Tensor4D, labels: Int32Array, targets: tf.Tensor3D, lossWeight: number): { loss_mask: tf.Scalar } {
  return tf.tidy(() => {
    if (logits.shape[0] === 0) return { loss_mask: tf.mul(tf.sum(logits), 0) as tf.Scalar };
    const pred = selectClass(logits, labels);
    const loss = binaryCrossEntropyWithLogits(pred, targets, { reduction: 'mean' });
    return { loss_mask: tf.mul(loss, lossWeight) as tf.Scalar };
  });
}
