/**
 * Weight initialisers with PyTorch / torchvision semantics, drawing from a seeded `Rng` (never `Math.random`).
 *
 * Shapes are in TF.js layout: a conv weight is [kh, kw, in/groups, out], a linear weight is [in, out]. Fans are
 * computed exactly as PyTorch's `_calculate_fan_in_and_fan_out` does on the corresponding PyTorch tensor
 * ([out, in/groups, kh, kw] resp. [out, in]):
 *
 *   receptive = product of all dims but the last two (kh·kw for a conv, 1 for a linear),
 *   fan_in  = shape[rank−2] · receptive = (in/groups)·kh·kw,
 *   fan_out = shape[rank−1] · receptive = out·kh·kw.
 *
 * Groups: PyTorch divides fan_in by the groups (it is the weight's dim 1) but NOT fan_out (dim 0 is all output
 * channels); we reproduce that quirk. For a tied block conv (TBC, `layers/tbc.ts`) the weight is the shared
 * [k, k, c/(B·G), c'/B] filter, so fan_out = (c'/B)·k² — what PyTorch computes on the official implementation's
 * inner `nn.Conv2d(c/B, c'/B, groups=G)`.
 *
 * The same seed gives the same numbers, but not PyTorch's numbers (different generator); parity with PyTorch is
 * tested by loading weights, never by re-drawing them.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from './rng.js';

/** Creates a tensor of the given shape; random initialisers draw from `rng` (constant ones ignore it). */
export type Initializer = (shape: readonly number[], rng: Rng) => tf.Tensor;

export type FanMode = 'fan_in' | 'fan_out';
export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'relu' | 'leaky_relu' | 'tanh';

export interface Fans {
  fanIn: number;
  fanOut: number;
}

/** PyTorch's fan_in / fan_out for a weight of TF.js layout `shape` (see the file comment). Needs rank ≥ 2. */
export function computeFans(shape: readonly number[]): Fans {
  if (shape.length < 2) {
    throw new Error(`computeFans: fan in and fan out need a weight of rank >= 2, got shape [${shape.join(', ')}]`);
  }
  let receptive = 1;
  for (let i = 0; i < shape.length - 2; i++) receptive *= shape[i]!;
  return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
}

/** `torch.nn.init.calculate_gain`. `param` is the negative slope for leaky_relu (default 0.01 as in PyTorch). */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
  }
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uniform samples in [low, high). */
export function uniform(shape: readonly number[], rng: Rng, low: number, high: number): tf.Tensor {
  return tf.tensor(rng.uniformArray(size(shape), low, high), [...shape], 'float32');
}

/** Normal samples N(mean, std²). */
export function normal(shape: readonly number[], rng: Rng, mean: number, std: number): tf.Tensor {
  return tf.tensor(rng.normalArray(size(shape), mean, std), [...shape], 'float32');
}

/** A constant tensor (`nn.init.constant_`); e.g. BatchNorm weight 1, bias 0. */
export function constant(shape: readonly number[], value: number): tf.Tensor {
  return tf.fill([...shape], value, 'float32');
}

export interface KaimingOptions {
  /** Default 'fan_in' (PyTorch's default). torchvision ResNet convs use 'fan_out'. */
  mode?: FanMode;
  /** Default 'leaky_relu' (PyTorch's default). */
  nonlinearity?: Nonlinearity;
  /** Negative slope for leaky_relu; default 0. */
  a?: number;
}

function kaimingStd(shape: readonly number[], opts: KaimingOptions): number {
  const fans = computeFans(shape);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? fans.fanIn : fans.fanOut;
  if (fan === 0) throw new Error(`kaiming init: zero fan for shape [${shape.join(', ')}]`);
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

/** `nn.init.kaiming_normal_`: N(0, std²), std = gain/√fan. torchvision ResNet: mode fan_out, relu → √(2/(out·k²)). */
export function kaimingNormal(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): tf.Tensor {
  return normal(shape, rng, 0, kaimingStd(shape, opts));
}

/** `nn.init.kaiming_uniform_`: U(−bound, bound), bound = gain·√(3/fan). */
export function kaimingUniform(shape: readonly number[], rng: Rng, opts: KaimingOptions = {}): tf.Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, opts);
  return uniform(shape, rng, -bound, bound);
}

/**
 * The default weight init of `nn.Conv2d` and `nn.Linear` (`reset_parameters`): kaiming_uniform with a = √5,
 * i.e. U(−1/√fan_in, 1/√fan_in).
 */
export const torchDefaultWeight: Initializer = (shape, rng) =>
  kaimingUniform(shape, rng, { a: Math.sqrt(5), mode: 'fan_in', nonlinearity: 'leaky_relu' });

/**
 * The default bias init of `nn.Conv2d` / `nn.Linear`: U(−1/√fan_in, 1/√fan_in) with the fan_in of the layer's
 * weight (zeros when fan_in is 0, as PyTorch).
 */
export function torchDefaultBias(length: number, fanIn: number, rng: Rng): tf.Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return uniform([length], rng, -bound, bound);
}

/** torchvision ResNet's conv init: kaiming_normal(mode='fan_out', nonlinearity='relu'): std = √(2/fan_out). */
export const kaimingNormalFanOutRelu: Initializer = (shape, rng) =>
  kaimingNormal(shape, rng, { mode: 'fan_out', nonlinearity: 'relu' });

/** mmcv's `kaiming_init(mode='fan_in')` (normal, relu gain): std = √(2/fan_in). Used by GCNet's `conv_mask`. */
export const kaimingNormalFanInRelu: Initializer = (shape, rng) =>
  kaimingNormal(shape, rng, { mode: 'fan_in', nonlinearity: 'relu' });

/** An initialiser filling `value` (`zeros` / `ones` below). */
export function constantInit(value: number): Initializer {
  return (shape) => constant(shape, value);
}

export const zeros: Initializer = constantInit(0);
export const ones: Initializer = constantInit(1);

/** An initialiser N(0, std²) (e.g. detection heads: std 0.01). */
export function normalInit(std: number, mean = 0): Initializer {
  return (shape, rng) => normal(shape, rng, mean, std);
}
