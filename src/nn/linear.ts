/**
 * `Linear`: PyTorch's `nn.Linear` on [n, in] inputs.
 *
 * Parameters: `weight` stored [in, out] (TF.js layout — PyTorch's is [out, in], transposed in `io/`) so that the
 * forward pass is one untransposed rank-2 matMul, the fast (XNNPACK) path on wasm; `bias` [out]. Default init as
 * `nn.Linear.reset_parameters`: weight and bias U(±1/√in).
 */
import * as tf from '@tensorflow/tfjs';
import { linear } from './functional.js';
import { torchDefaultBias, torchDefaultWeight, type Initializer } from './init.js';
import { Module } from './module.js';
import type { Rng } from './rng.js';

export interface LinearOptions {
  inFeatures: number;
  outFeatures: number;
  /** Default true. */
  bias?: boolean;
  rng: Rng;
  /** Default `torchDefaultWeight` (kaiming_uniform a=√5, fan_in = inFeatures). */
  weightInit?: Initializer;
  /** Default U(±1/√inFeatures). */
  biasInit?: Initializer;
}

export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(opts: LinearOptions) {
    super();
    if (!Number.isInteger(opts.inFeatures) || opts.inFeatures < 1 || !Number.isInteger(opts.outFeatures) || opts.outFeatures < 1) {
      throw new Error(`Linear: features must be positive integers, got in=${opts.inFeatures}, out=${opts.outFeatures}`);
    }
    this.inFeatures = opts.inFeatures;
    this.outFeatures = opts.outFeatures;
    this.weight = this.registerParameter('weight', (opts.weightInit ?? torchDefaultWeight)([opts.inFeatures, opts.outFeatures], opts.rng));
    if (opts.bias ?? true) {
      const init = opts.biasInit ?? ((s: readonly number[], r: Rng) => torchDefaultBias(s[0]!, opts.inFeatures, r));
      this.bias = this.registerParameter('bias', init([opts.outFeatures], opts.rng));
    } else {
      this.bias = null;
    }
  }

  /** [n, in] → [n, out]. */
  forward(x: tf.Tensor2D): tf.Tensor2D {
    return linear(x, this.weight as tf.Tensor2D, this.bias as tf.Tensor1D | null);
  }
}
