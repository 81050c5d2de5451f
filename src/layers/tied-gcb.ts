/**
 * Tied Global Context Block (TiedGCB) — PAPER.md: GCNet's global-context block with the two transform convs
 * replaced by tied block convs.
 *
 * Semantics (GCNet / mmcv `ContextBlock` with pooling 'att' and fusion 'channel_add', the only fusion the paper
 * uses), on x [n, h, w, c]:
 *  1. attention pooling: a = softmax over the h·w positions of `conv_mask`(x) (1×1 conv c → 1, with bias);
 *     context = Σ_p a_p·x_p  → [n, 1, 1, c];
 *  2. transform: TBC 1×1 (c → P, B blocks, bias) → LayerNorm over the P channels (PyTorch `LayerNorm([P,1,1])`)
 *     → ReLU → TBC 1×1 (P → c, B blocks, bias), with P = ⌊c·ratio⌋ (GCNet: ratio 1/4 or 1/16);
 *  3. y = x + transform(context), broadcast over h, w.
 * Only the two transform convs are tied (conv_mask is c → 1, nothing to tie; the LayerNorm acts on all P
 * channels). With ratio 1/4 at ResNet-50's stages c3–c5, B = 2 turns ≈ 10 M block parameters into ≈ 2.5 M (the
 * paper's figure): the transform's weights shrink by B².
 *
 * Names mirror mmcv: `conv_mask.{weight,bias}`, `channel_add_conv.0.{weight,bias}` (TBC),
 * `channel_add_conv.1.{weight,bias}` (LayerNorm, stored [P]; PyTorch [P, 1, 1]), `channel_add_conv.3.{weight,bias}`.
 * Init as mmcv's `reset_parameters`: conv_mask kaiming-normal (fan_in, relu), bias 0; the last TBC zero (the
 * block starts as the identity); the first TBC PyTorch's conv default; LayerNorm 1, 0.
 */
import * as tf from '@tensorflow/tfjs';
import { ReLU } from '../nn/activation.js';
import { Conv2d } from '../nn/conv2d.js';
import { kaimingNormalFanInRelu, zeros } from '../nn/init.js';
import { LayerNorm } from '../nn/layernorm.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../nn/rng.js';
import { Sequential } from '../nn/sequential.js';
import { TiedBlockConv2d } from './tbc.js';

export interface TiedGCBOptions {
  channels: number;
  /** Transform width ratio; P = ⌊channels·ratio⌋. GCNet uses 1/4 or 1/16. */
  ratio: number;
  /** Tied blocks B of the two transform convs; must divide `channels` and P. B = 1 is GCNet's block. */
  blocks: number;
  rng: Rng;
}

export class TiedGCB extends Module {
  readonly channels: number;
  readonly planes: number;
  readonly blocks: number;
  readonly convMask: Conv2d;
  readonly channelAddConv: Sequential<tf.Tensor4D, tf.Tensor4D>;

  constructor(opts: TiedGCBOptions) {
    super();
    const { channels: c, blocks: B, rng } = opts;
    const planes = Math.floor(c * opts.ratio);
    if (planes < 1) throw new Error(`TiedGCB: channels·ratio = ${c}·${opts.ratio} gives no transform channels`);
    if (!Number.isInteger(B) || B < 1 || c % B !== 0 || planes % B !== 0) {
      throw new Error(`TiedGCB: blocks=${B} must divide channels=${c} and planes=${planes}`);
    }
    this.channels = c;
    this.planes = planes;
    this.blocks = B;
    this.convMask = this.registerModule(
      'conv_mask',
      new Conv2d({ inChannels: c, outChannels: 1, kernelSize: 1, rng, weightInit: kaimingNormalFanInRelu, biasInit: zeros }),
    );
    this.channelAddConv = this.registerModule(
      'channel_add_conv',
      new Sequential<tf.Tensor4D, tf.Tensor4D>([
        new TiedBlockConv2d({ inChannels: c, outChannels: planes, kernelSize: 1, blocks: B, rng }),
        new LayerNorm({ numFeatures: planes }),
        new ReLU(),
        new TiedBlockConv2d({ inChannels: planes, outChannels: c, kernelSize: 1, blocks: B, rng, weightInit: zeros, biasInit: zeros }),
      ]),
    );
  }

  /** Attention-pooled context [n, 1, 1, c]. */
  spatialPool(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    return tf.tidy(() => {
      const logits = tf.reshape(this.convMask.forward(x), [n, h * w]);
      const attention = tf.reshape(tf.softmax(logits, -1), [n, h * w, 1]);
      const context = tf.sum(tf.mul(tf.reshape(x, [n, h * w, c]), attention), 1);
      return tf.reshape(context, [n, 1, 1, c]);
    });
  }

  /** [n, h, w, c] → [n, h, w, c]: x + transform(context). */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.channels) {
      throw new Error(`TiedGCB: expected [n, h, w, ${this.channels}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => tf.add(x, this.channelAddConv.forward(this.spatialPool(x))));
  }
}
