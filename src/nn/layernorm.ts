/**
 * `LayerNorm` over the last axis (the channel axis of an NHWC tensor): y = (x − mean)/√(var + eps)·γ + β, biased
 * variance, per position. On a [n, 1, 1, c] tensor this is PyTorch's `nn.LayerNorm([c, 1, 1])` on [n, c, 1, 1]
 * (GCNet's context transform). Parameters `weight` (γ, 1) and `bias` (β, 0), stored [c] (PyTorch: the normalised
 * shape, e.g. [c, 1, 1]; `io/` reshapes). Gradients are TF.js autodiff (meant for small tensors).
 */
import * as tf from '@tensorflow/tfjs';
import { constant } from './init.js';
import { Module } from './module.js';

export interface LayerNormOptions {
  /** Size of the normalised last axis. */
  numFeatures: number;
  /** Default 1e-5. */
  eps?: number;
}

export class LayerNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(opts: LayerNormOptions) {
    super();
    if (!Number.isInteger(opts.numFeatures) || opts.numFeatures < 1) {
      throw new Error(`LayerNorm: numFeatures must be a positive integer, got ${opts.numFeatures}`);
    }
    this.numFeatures = opts.numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.weight = this.registerParameter('weight', constant([opts.numFeatures], 1));
    this.bias = this.registerParameter('bias', constant([opts.numFeatures], 0));
  }

  /** Normalise over the last axis (must have `numFeatures` entries). */
  forward<T extends tf.Tensor>(x: T): T {
    const axis = x.rank - 1;
    if (x.shape[axis] !== this.numFeatures) {
      throw new Error(`LayerNorm(${this.numFeatures}): last axis of [${x.shape.join(', ')}] does not match`);
    }
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, axis, true);
      const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      return tf.add(tf.mul(xhat, this.weight), this.bias) as T;
    });
  }
}
