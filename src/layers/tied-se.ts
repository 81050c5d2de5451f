/**
 * Tied Squeeze-and-Excitation (TiedSE) — PAPER.md: an SE block whose two FC layers are TFCs with B blocks.
 *
 * Semantics chosen (those of the official `TiedSELayer`): per sample, s = global average of x over h, w ([c]);
 * s is cut into B contiguous blocks of c/B; each block goes through the SAME small MLP
 *   Linear(c/B → hidden) → ReLU → Linear(hidden → c/B) → sigmoid,   hidden = max(2, ⌊(c/B)/r⌋), r = 16;
 * the B results are concatenated back to [c] and scale x channel-wise: y = x·s′.
 * Why this hidden size: it is the official code's (`nn.Linear(channel//B, max(2, channel//B//reduction))`) and
 * PAPER.md's "max(2, c/(B·r))"; both FCs have biases (nn.Linear's default). It reproduces the paper's count:
 * SE-ResNet-50's SE blocks have 2,530,992 parameters (≈ 2.53 M); with B = 8 they have 41,302 (≈ 0.04 M).
 *
 * Structure and names mirror the official module: `fc` = Sequential(TiedLinear, ReLU, TiedLinear, Sigmoid), so
 * the parameters are `fc.0.weight` [c/B, hidden], `fc.0.bias` [hidden], `fc.2.weight` [hidden, c/B],
 * `fc.2.bias` [c/B] (TF.js [in, out] layout; `io/` transposes to PyTorch's [out, in]).
 */
import * as tf from '@tensorflow/tfjs';
import { ReLU, Sigmoid } from '../nn/activation.js';
import { globalAvgPool } from '../nn/functional.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../nn/rng.js';
import { Sequential } from '../nn/sequential.js';
import { TiedLinear } from './tfc.js';

export interface TiedSEOptions {
  channels: number;
  /** Tied blocks B; must divide `channels`. B = 1 is the standard SE block. */
  blocks: number;
  /** Reduction r; default 16. */
  reduction?: number;
  rng: Rng;
}

/** Hidden width of one block's MLP: max(2, ⌊(c/B)/r⌋). */
export function tiedSEHidden(channels: number, blocks: number, reduction = 16): number {
  return Math.max(2, Math.floor(channels / blocks / reduction));
}

export class TiedSE extends Module {
  readonly channels: number;
  readonly blocks: number;
  readonly reduction: number;
  /** Hidden width per block. */
  readonly hidden: number;
  readonly fc: Sequential<tf.Tensor2D, tf.Tensor2D>;

  constructor(opts: TiedSEOptions) {
    super();
    const { channels: c, blocks: B } = opts;
    const r = opts.reduction ?? 16;
    if (!Number.isInteger(B) || B < 1 || c % B !== 0) throw new Error(`TiedSE: blocks=${B} must divide channels=${c}`);
    if (!(r > 0)) throw new Error(`TiedSE: reduction must be > 0, got ${r}`);
    this.channels = c;
    this.blocks = B;
    this.reduction = r;
    this.hidden = tiedSEHidden(c, B, r);
    this.fc = this.registerModule(
      'fc',
      new Sequential<tf.Tensor2D, tf.Tensor2D>([
        new TiedLinear({ inFeatures: c, outFeatures: B * this.hidden, blocks: B, rng: opts.rng }),
        new ReLU(),
        new TiedLinear({ inFeatures: B * this.hidden, outFeatures: c, blocks: B, rng: opts.rng }),
        new Sigmoid(),
      ]),
    );
  }

  /** [n, h, w, c] → [n, h, w, c]: x scaled by the per-channel gates. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.channels) {
      throw new Error(`TiedSE: expected [n, h, w, ${this.channels}], got [${x.shape.join(', ')}]`);
    }
    return tf.tidy(() => {
      const gates = this.fc.forward(globalAvgPool(x));
      return tf.mul(x, tf.reshape(gates, [x.shape[0], 1, 1, this.channels]));
    });
  }
}
