/**
 * `ConvTranspose2d`: PyTorch's `nn.ConvTranspose2d` with padding 0 and output_padding 0 (what mmdetection's mask
 * head uses as its ×2 `deconv` upsampler: kernel 2, stride 2) on NHWC tensors, via `tf.conv2dTranspose`:
 *
 *   out[y·s + ky, x·s + kx, o] += in[y, x, i] · W[i, o, ky, kx]    (+ bias[o]),  out size (in − 1)·s + k
 *
 * Parameters: `weight` [kh, kw, out, in] — TF.js's `conv2dTranspose` filter layout, which is PyTorch's
 * [in, out, kh, kw] under the same permutation as a Conv2d weight, so `io/` converts it with the 'conv' rule
 * (`torchLayout`); `bias` [out]. Init by default as PyTorch's `reset_parameters` (kaiming-uniform a = √5 with
 * PyTorch's fan-in of a transposed-conv weight, dim 1 × receptive field = out·kh·kw; bias U(±1/√fan_in)).
 * Differentiable on every backend (TF.js's Conv2DBackpropInput gradient: a conv for the input, a
 * Conv2DBackpropFilter for the weight — both project kernels on wasm).
 */
import * as tf from '@tensorflow/tfjs';
import type { TorchLayout, TorchLayoutProvider } from '../io/torch-layout.js';
import { torchDefaultBias, torchDefaultWeight, type Initializer } from './init.js';
import { Module } from './module.js';
import type { Rng } from './rng.js';

export interface ConvTranspose2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  /** Default 1. */
  stride?: number;
  bias?: boolean;
  rng: Rng;
  weightInit?: Initializer;
  biasInit?: Initializer;
}

export class ConvTranspose2d extends Module implements TorchLayoutProvider {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(opts: ConvTranspose2dOptions) {
    super();
    for (const [v, what] of [
      [opts.inChannels, 'inChannels'],
      [opts.outChannels, 'outChannels'],
      [opts.kernelSize, 'kernelSize'],
      [opts.stride ?? 1, 'stride'],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`ConvTranspose2d: ${what} must be a positive integer, got ${v}`);
    }
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.kernelSize = opts.kernelSize;
    this.stride = opts.stride ?? 1;
    const k = this.kernelSize;
    this.weight = this.registerParameter('weight', (opts.weightInit ?? torchDefaultWeight)([k, k, this.outChannels, this.inChannels], opts.rng));
    if (opts.bias ?? true) {
      const fanIn = this.outChannels * k * k;
      this.bias = this.registerParameter('bias', (opts.biasInit ?? ((s, r) => torchDefaultBias(s[0]!, fanIn, r)))([this.outChannels], opts.rng));
    } else {
      this.bias = null;
    }
  }

  torchLayout(name: string): TorchLayout | undefined {
    return name === 'weight' ? 'conv' : undefined;
  }

  /** [n, h, w, in] → [n, (h − 1)·s + k, (w − 1)·s + k, out]. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    this.assertAlive('forward');
    const [n, h, w, c] = x.shape;
    if (c !== this.inChannels) throw new Error(`ConvTranspose2d: expected ${this.inChannels} input channels, got [${x.shape.join(', ')}]`);
    const s = this.stride;
    const k = this.kernelSize;
    const outShape: [number, number, number, number] = [n, (h - 1) * s + k, (w - 1) * s + k, this.outChannels];
    return tf.tidy(() => {
      const y = tf.conv2dTranspose(x, this.weight as tf.Tensor4D, outShape, s, 'valid');
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
