/**
 * A tiny trainable setup for the training-engine tests: conv 3×3 → BatchNorm (running statistics and the int32
 * counter are buffers that must survive a resume) → ReLU → global average pool → linear, on seeded 6×6 images of
 * three classes; a loss with random feature noise drawn from a named `Rng` (so RNG state matters); a resumable
 * data source that records the sample order it served; and byte snapshots of weights and optimizer moments.
 */
import * as tf from '@tensorflow/tfjs';
import { BatchNorm2d } from '../../src/nn/batchnorm2d.js';
import { Conv2d } from '../../src/nn/conv2d.js';
import { globalAvgPool } from '../../src/nn/functional.js';
import { Linear } from '../../src/nn/linear.js';
import { Module } from '../../src/nn/module.js';
import { Rng } from '../../src/nn/rng.js';
import { indexedData } from '../../src/train/sampler.js';
import { AdamW } from '../../src/train/adamw.js';
import type { OptimizerType } from '../../src/train/optimizer-state.js';
import { SGD } from '../../src/train/sgd.js';
import type { Losses, Optimizer, StepContext, TrainData } from '../../src/train/types.js';

export class TinyNet extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm2d;
  readonly fc: Linear;
  constructor(seed: number) {
    super();
    const rng = new Rng(seed);
    this.conv = this.registerModule('conv', new Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, padding: 1, bias: false, rng }));
    this.bn = this.registerModule('bn', new BatchNorm2d({ numFeatures: 4 }));
    this.fc = this.registerModule('fc', new Linear({ inFeatures: 4, outFeatures: 3, rng }));
  }
  features(x: tf.Tensor4D): tf.Tensor2D {
    return globalAvgPool(tf.relu(this.bn.forward(this.conv.forward(x))));
  }
}

export interface TinyBatch {
  x: tf.Tensor4D;
  onehot: tf.Tensor2D;
}

export const SAMPLES = 20;
const HW = 6;

/** Seeded samples: class c has a bright channel c. */
function sampleArrays(): { images: Float32Array[]; labels: number[] } {
  const rng = new Rng(1234);
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const c = i % 3;
    const img = rng.normalArray(HW * HW * 3, 0, 0.5);
    for (let p = 0; p < HW * HW; p++) img[p * 3 + c]! += 1;
    images.push(img);
    labels.push(c);
  }
  return { images, labels };
}

/** A resumable data source; `served` collects the sample indices in the order they were loaded. */
export function tinyData(batchSize: number, served: number[] = []): TrainData<TinyBatch> & { served: number[] } {
  const { images, labels } = sampleArrays();
  const d = indexedData<TinyBatch>({
    size: SAMPLES,
    batchSize,
    seed: 7,
    load: (idx) => {
      served.push(...idx);
      const x = new Float32Array(idx.length * HW * HW * 3);
      idx.forEach((s, i) => x.set(images[s]!, i * HW * HW * 3));
      return tf.tidy(() => ({
        x: tf.tensor4d(x, [idx.length, HW, HW, 3]),
        onehot: tf.oneHot(tf.tensor1d(idx.map((s) => labels[s]!), 'int32'), 3).toFloat() as tf.Tensor2D,
      }));
    },
  });
  return Object.assign(d, { served });
}

/**
 * Cross-entropy with multiplicative feature noise from `noise` (dropout-like; the RNG state is part of the
 * exact-resume contract) and an L2 term reported separately. `poison(ctx)` → true makes loss_cls NaN.
 */
export function tinyLoss(net: TinyNet, noise: Rng, poison?: (ctx: StepContext) => boolean) {
  return (b: TinyBatch, ctx: StepContext): Losses => {
    const n = b.x.shape[0];
    const mask = tf.tensor2d(noise.uniformArray(n * 4, 0.8, 1.2), [n, 4]);
    const f = tf.mul(net.features(b.x), mask);
    mask.dispose();
    const logits = net.fc.forward(f as tf.Tensor2D);
    let cls = tf.neg(tf.mean(tf.sum(tf.mul(b.onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    if (poison?.(ctx)) cls = tf.mul(cls, Number.NaN) as tf.Scalar;
    const reg = tf.mul(tf.sum(tf.square(net.fc.weight)), 1e-3) as tf.Scalar;
    const acc = tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(b.onehot, 1)), 'float32')) as tf.Scalar;
    return { loss_cls: cls, loss_reg: reg, acc };
  };
}

export function tinyOptimizer(net: TinyNet, type: OptimizerType = 'SGD'): Optimizer {
  return type === 'AdamW'
    ? new AdamW(net.namedParameters(), { lr: 0.01, weightDecay: 0.05 })
    : new SGD(net.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 });
}

/** name → bytes of every weight/buffer, and of every optimizer tensor (prefixed `m:`), and its scalars. */
export function snapshot(net: TinyNet, opt?: Optimizer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, t] of net.stateDict()) {
    const d = t.dataSync() as Float32Array | Int32Array;
    out.set(k, Buffer.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))); // a copy
  }
  if (opt) {
    const st = opt.exportState();
    for (const [k, t] of st.tensors) {
      const d = t.dataSync() as Float32Array;
      out.set(`m:${k}`, Buffer.from(new Uint8Array(d.buffer, d.byteOffset, d.byteLength)));
      t.dispose();
    }
    const { lr: _lr, ...scalars } = st.scalars; // the lr is the schedule's, compared separately
    out.set('scalars', Buffer.from(JSON.stringify(scalars)));
  }
  return out;
}

/** The names whose bytes differ (empty when bit-identical). */
export function diffSnapshots(a: Map<string, Buffer>, b: Map<string, Buffer>): string[] {
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => !a.get(k) || !b.get(k) || !a.get(k)!.equals(b.get(k)!));
}
