/**
 * `Conv2d`: PyTorch's `nn.Conv2d` on NHWC tensors (stride, symmetric integer padding, dilation, groups, bias).
 *
 * Parameters (torchvision names): `weight` [kh, kw, in/groups, out] (TF.js layout; PyTorch's is
 * [out, in/groups, kh, kw], converted in `io/`), `bias` [out] when `bias` is true (PyTorch's default).
 * Initialisation defaults to `nn.Conv2d.reset_parameters` (kaiming_uniform a=√5, bias U(±1/√fan_in)); pass
 * `weightInit` (e.g. `kaimingNormalFanOutRelu`, torchvision ResNet's) to change it.
 * Groups run as G convs on contiguous channel slices, dilation is forward-only — see `functional.ts`.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2d, pair, type Pair } from './functional.js';
import { computeFans, torchDefaultBias, torchDefaultWeight, type Initializer } from './init.js';
import { Module } from './module.js';
import type { Rng } from './rng.js';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: Pair;
  /** Default 1. */
  stride?: Pair;
  /** PyTorch symmetric zero padding; default 0. */
  padding?: Pair;
  /** Default 1. > 1 works in the forward pass only (TF.js has no dilated conv gradient). */
  dilation?: Pair;
  /** Default 1; must divide both channel counts. */
  groups?: number;
  /** Default true (as `nn.Conv2d`). */
  bias?: boolean;
  /** Source of randomness for the initial weights. */
  rng: Rng;
  /** Weight initialiser; default `torchDefaultWeight`. */
  weightInit?: Initializer;
  /** Bias initialiser; default U(±1/√fan_in) as PyTorch. */
  biasInit?: Initializer;
}

export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(opts: Conv2dOptions) {
    super();
    this.inChannels = opts.inChannels;
    this.outChannels = opts.outChannels;
    this.kernelSize = pair(opts.kernelSize, 'Conv2d kernelSize', 1);
    this.stride = pair(opts.stride ?? 1, 'Conv2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'Conv2d padding', 0);
    this.dilation = pair(opts.dilation ?? 1, 'Conv2d dilation', 1);
    this.groups = opts.groups ?? 1;
    const g = this.groups;
    if (!Number.isInteger(g) || g < 1 || opts.inChannels % g !== 0 || opts.outChannels % g !== 0) {
      throw new Error(
        `Conv2d: groups=${g} must divide inChannels=${opts.inChannels} and outChannels=${opts.outChannels}`,
      );
    }
    const shape = [this.kernelSize[0], this.kernelSize[1], opts.inChannels / g, opts.outChannels];
    this.weight = this.registerParameter('weight', (opts.weightInit ?? torchDefaultWeight)(shape, opts.rng));
    if (opts.bias ?? true) {
      const init = opts.biasInit ?? ((s: readonly number[], r: Rng) => torchDefaultBias(s[0]!, computeFans(shape).fanIn, r));
      this.bias = this.registerParameter('bias', init([opts.outChannels], opts.rng));
    } else {
      this.bias = null;
    }
  }

  /** [n, h, w, in] → [n, h', w', out] with h' = ⌊(h + 2p − d(k−1) − 1)/s⌋ + 1. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return conv2d(x, this.weight as tf.Tensor4D, this.bias as tf.Tensor1D | null, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}
