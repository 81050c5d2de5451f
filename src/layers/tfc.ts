/**
 * Tied Fully Connected layer (TFC) — TBC with k = 1 on vectors (PAPER.md): the c input features are cut into B
 * contiguous blocks, one shared [c/B → c′/B] linear map is applied to every block, outputs concatenated in block
 * order (official: `x.view(n·B, c/B)` → linear → `view(n, c′)`). B = 1 is `Linear`.
 *
 * Parameters: `weight` [c/B, c′/B] (TF.js layout [in, out]: PyTorch's [c′/B, c/B] transposed, in `io/`), `bias`
 * [c′/B] shared by the blocks. Count c·c′/B² (+ c′/B). Because the blocks are contiguous, [n, c] → [n·B, c/B]
 * is a free reshape: the forward is one untransposed rank-2 matMul.
 */
import * as tf from '@tensorflow/tfjs';
import { linear } from '../nn/functional.js';
import { torchDefaultBias, torchDefaultWeight, type Initializer } from '../nn/init.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../nn/rng.js';

export interface TiedLinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Number of tied blocks B; must divide both feature counts. */
  blocks: number;
  /** Default true. */
  bias?: boolean;
  rng: Rng;
  /** Default `torchDefaultWeight` (fan_in = c/B). */
  weightInit?: Initializer;
  /** Default U(±1/√(c/B)). */
  biasInit?: Initializer;
}

export class TiedLinear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly blocks: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(opts: TiedLinearOptions) {
    super();
    const { inFeatures: c, outFeatures: co, blocks: B } = opts;
    if (!Number.isInteger(B) || B < 1 || !Number.isInteger(c) || !Number.isInteger(co) || c < 1 || co < 1 || c % B !== 0 || co % B !== 0) {
      throw new Error(`TiedLinear: blocks=${B} must divide inFeatures=${c} and outFeatures=${co}`);
    }
    this.inFeatures = c;
    this.outFeatures = co;
    this.blocks = B;
    this.weight = this.registerParameter('weight', (opts.weightInit ?? torchDefaultWeight)([c / B, co / B], opts.rng));
    if (opts.bias ?? true) {
      const init = opts.biasInit ?? ((s: readonly number[], r: Rng) => torchDefaultBias(s[0]!, c / B, r));
      this.bias = this.registerParameter('bias', init([co / B], opts.rng));
    } else {
      this.bias = null;
    }
  }

  /** [n, c] → [n, c′]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(`TiedLinear: expected [n, ${this.inFeatures}], got [${x.shape.join(', ')}]`);
    }
    const [n] = x.shape;
    const B = this.blocks;
    return tf.tidy(() => {
      const y = linear(tf.reshape(x, [n * B, this.inFeatures / B]), this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | null);
      return tf.reshape(y, [n, this.outFeatures]);
    });
  }
}
