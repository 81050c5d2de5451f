/**
 * `BatchNorm2d`: PyTorch's `nn.BatchNorm2d` (affine, tracking running statistics) on NHWC tensors, normalising
 * each channel (last axis) over [n, h, w].
 *
 * State (torchvision names, TF.js shapes): parameters `weight` (γ, init 1) and `bias` (β, init 0), [c]; buffers
 * `running_mean` (init 0), `running_var` (init 1), [c] float32, and `num_batches_tracked` (int32 scalar; int64
 * in PyTorch; optional when loading, as in PyTorch).
 *
 * Modes:
 *  - **train** (`training && !frozen`): normalise with the batch statistics (biased variance), and update
 *    running_mean ← (1−m)·running_mean + m·mean, running_var ← (1−m)·running_var + m·var·M/(M−1) (the
 *    unbiased variance, M = n·h·w), num_batches_tracked += 1, with momentum m = 0.1 and eps = 1e-5 by default —
 *    PyTorch's rules. M = 1 is an error, as in PyTorch ("Expected more than 1 value per channel").
 *  - **eval** (`!training`): normalise with the running statistics; γ and β still get gradients if trainable
 *    (mmdetection's `norm_eval=True` with `requires_grad=True`).
 *  - **frozen** (`freeze()`): running statistics in every mode and no parameter gradients (mmdetection's frozen
 *    stages). The input still gets a gradient.
 *
 * Speed: TF.js's autodiff of `moments` + `batchNorm` tiles per-channel tensors to the full input shape (a
 * costly `Tile` on wasm). Both modes are therefore custom ops with closed-form backward passes built from
 * reductions, broadcasting element-wise ops and the fused `batchNorm` kernel:
 *    x̂ = (x − μ)·invstd,  dβ = Σ dy,  dγ = Σ dy·x̂,
 *    train: dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂))        (μ, invstd from the batch)
 *    eval:  dx = γ·invstd·dy                                     (μ, invstd from the running statistics)
 * with the sums and means over [n, h, w]. On the wasm backend the train mode runs tiedet's SIMD passes instead
 * (engine/kernels/simd-batchnorm.ts: two reading passes and one writing pass forward, one of each backward) when
 * the channel count is a multiple of 4; other backends and widths use the tf ops above.
 */
import * as tf from '@tensorflow/tfjs';
import { simdBatchNormTrain, simdBatchNormTrainGrad } from '../engine/kernels/simd-batchnorm.js';
import { isRecomputing } from './activation-checkpoint.js';
import { customOp } from './custom-op.js';
import { constant } from './init.js';
import { Module } from './module.js';

export interface BatchNorm2dOptions {
  numFeatures: number;
  /** Default 1e-5. */
  eps?: number;
  /** Running-statistics momentum (PyTorch convention: weight of the new batch); default 0.1. */
  momentum?: number;
}

const AXES = [0, 1, 2];

/** Train-mode forward by tf ops: batch mean and biased variance over [n, h, w], then the fused batchNorm. */
function trainForwardOps(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  const mean = tf.mean(x, AXES) as tf.Tensor1D;
  const variance = tf.mean(tf.square(tf.sub(x, mean)), AXES) as tf.Tensor1D;
  return { y: tf.batchNorm(x, mean, variance, beta, gamma, eps), mean, variance };
}

export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(opts: BatchNorm2dOptions) {
    super();
    const c = opts.numFeatures;
    if (!Number.isInteger(c) || c < 1) throw new Error(`BatchNorm2d: numFeatures must be a positive integer, got ${c}`);
    this.numFeatures = c;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.eps > 0)) throw new Error(`BatchNorm2d: eps must be > 0, got ${this.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`BatchNorm2d: momentum must be in [0, 1], got ${this.momentum}`);
    this.weight = this.registerParameter('weight', constant([c], 1));
    this.bias = this.registerParameter('bias', constant([c], 0));
    this.runningMean = this.registerBuffer('running_mean', constant([c], 0));
    this.runningVar = this.registerBuffer('running_var', constant([c], 1));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32'), { optionalOnLoad: true });
  }

  /** True when the forward pass normalises with batch statistics (and updates the running ones). */
  get usesBatchStats(): boolean {
    return this.training && !this.frozen;
  }

  /** [n, h, w, c] → [n, h, w, c]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.numFeatures) {
      throw new Error(`BatchNorm2d(${this.numFeatures}): expected [n, h, w, ${this.numFeatures}], got [${x.shape.join(', ')}]`);
    }
    if (this.usesBatchStats) return this.trainOp(x, this.weight, this.bias);
    if (this.weight.trainable || this.bias.trainable) return this.evalAffineOp(x, this.weight, this.bias);
    return this.evalInputOnlyOp(x);
  }

  private updateRunningStats(mean: tf.Tensor1D, variance: tf.Tensor1D, count: number): void {
    const m = this.momentum;
    tf.tidy(() => {
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(variance, (m * count) / (count - 1))));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
  }

  /** Train mode over inputs [x, γ, β]: batch statistics, running-statistics update, closed-form backward. */
  private readonly trainOp = customOp<tf.Tensor4D>(([xIn, gamma, beta], save) => {
    const x = xIn as tf.Tensor4D;
    const count = x.shape[0] * x.shape[1] * x.shape[2];
    if (count < 2) {
      throw new Error(
        `BatchNorm2d: expected more than 1 value per channel when training, got input [${x.shape.join(', ')}]`,
      );
    }
    const eps = this.eps;
    // tiedet's SIMD passes on the wasm heap where they apply (engine/kernels/simd-batchnorm.ts), else tf ops
    const { y, mean, variance } =
      simdBatchNormTrain(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, eps) ?? trainForwardOps(x, gamma as tf.Tensor1D, beta as tf.Tensor1D, eps);
    // A checkpointed block (nn/activation-checkpoint.ts) runs its forward twice: count the batch once.
    if (!isRecomputing()) this.updateRunningStats(mean, variance, count);
    save([x, mean, variance, gamma!]);
    return {
      value: y,
      gradFunc: (dyIn, saved) => {
        const [xs, mu, vr, g] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const dy = dyIn as tf.Tensor4D;
        const grads = simdBatchNormTrainGrad(dy, xs, mu, vr, g, eps);
        if (grads) return [grads.dx, grads.dgamma, grads.dbeta];
        const sumDy = tf.sum(dy, AXES);
        const xhat = tf.batchNorm(xs, mu, vr, undefined, undefined, eps);
        const sumDyXhat = tf.sum(tf.mul(dy, xhat), AXES);
        const scale = tf.mul(g, tf.rsqrt(tf.add(vr, eps))); // γ·invstd
        // dx = γ·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)); the last step is one fused batchNorm with unit variance.
        const t = tf.sub(dy, tf.mul(xhat, tf.div(sumDyXhat, count)));
        const dx = tf.batchNorm(t, tf.div(sumDy, count) as tf.Tensor1D, tf.onesLike(sumDy) as tf.Tensor1D, undefined, scale, 0);
        return [dx, sumDyXhat, sumDy];
      },
    };
  });

  /** Eval mode over inputs [x, γ, β]: running statistics, gradients for x, γ and β. */
  private readonly evalAffineOp = customOp<tf.Tensor4D>(([xIn, gamma, beta], save) => {
    const x = xIn as tf.Tensor4D;
    const eps = this.eps;
    const y = tf.batchNorm(x, this.runningMean as tf.Tensor1D, this.runningVar as tf.Tensor1D, beta as tf.Tensor1D, gamma as tf.Tensor1D, eps);
    save([x, this.runningMean, this.runningVar, gamma!]);
    return {
      value: y,
      gradFunc: (dyIn, saved) => {
        const [xs, mu, vr, g] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const dy = dyIn as tf.Tensor4D;
        const scale = tf.mul(g, tf.rsqrt(tf.add(vr, eps)));
        const xhat = tf.batchNorm(xs, mu, vr, undefined, undefined, eps);
        return [tf.mul(dy, scale), tf.sum(tf.mul(dy, xhat), AXES), tf.sum(dy, AXES)];
      },
    };
  });

  /** Eval/frozen mode over input [x] only: γ, β and the statistics are constants; dx = γ·invstd·dy. */
  private readonly evalInputOnlyOp = customOp<tf.Tensor4D>(([xIn], save) => {
    const x = xIn as tf.Tensor4D;
    const y = tf.batchNorm(x, this.runningMean as tf.Tensor1D, this.runningVar as tf.Tensor1D, this.bias as tf.Tensor1D, this.weight as tf.Tensor1D, this.eps);
    save([tf.mul(this.weight, tf.rsqrt(tf.add(this.runningVar, this.eps)))]);
    return { value: y, gradFunc: (dy, [scale]) => [tf.mul(dy, scale!)] };
  });
}
