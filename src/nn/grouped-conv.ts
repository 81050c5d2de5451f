/**
 * Grouped 2-D convolution on NHWC tensors, three exact formulations (TF.js has no grouped conv):
 *
 *  - `'split'`: split x and W into G contiguous channel slices, G `tf.conv2d`, concat — `functional.conv2d`'s
 *    groups path. G small convs plus G slices and a concat: overhead grows with G.
 *  - `'dense'`: ONE dense conv whose [kh, kw, C, C′] weight is block-diagonal: W is repeated G times along the
 *    input axis (concat) and multiplied by a constant 0/1 mask that keeps input group g → output group g. G× the
 *    MACs.
 *  - `'depthwise'`: ONE depthwise conv with channel multiplier C′/G — input channel c = g·(C/G) + i is convolved
 *    with the C′/G filters W[:, :, i, g·C′/G : (g+1)·C′/G] — followed by summing, per output channel, the C/G
 *    partial results of its group (reshape [P·G, C/G, C′/G], sum over the middle axis). Same MACs as the grouped
 *    conv, C/G× the intermediate memory; uses XNNPACK's depthwise kernel and tiedet's depthwise gradient kernels
 *    on wasm (src/engine/kernels).
 *
 * All three take the weight in the grouped layout [kh, kw, C/G, C′] (PyTorch's [C′, C/G, kh, kw] transposed),
 * so parameters and state dicts do not depend on the formulation. Which one is fastest on wasm depends on G and
 * C/G (measured by tools/bench/grouped-conv.ts, recorded in src/backbones/ARCHITECTURE.md); `'auto'` (the
 * default) picks by `chooseGroupedConvImpl`. `GroupedConv2d` is `Conv2d` (same parameters and names) running
 * this function. Dilation > 1 works in the forward pass only (as every TF.js conv).
 */
import * as tf from '@tensorflow/tfjs';
import { Conv2d, type Conv2dOptions } from './conv2d.js';
import { conv2d, explicitPadding, pair, type Pair } from './functional.js';

export type GroupedConvImpl = 'split' | 'dense' | 'depthwise';

/**
 * The formulation `'auto'` picks for G groups of C/G input channels each — the fastest one in the wasm
 * measurements of tools/bench/grouped-conv.ts (tables in src/backbones/ARCHITECTURE.md, forward and
 * forward + backward):
 *  - G ≤ 4: split (few, large convs; depthwise would make the intermediate C/G ≥ 32× the output);
 *  - C/G ≤ 8 or G ≥ 32: depthwise (ResNeXt's 32×4d, 32×8d, 64×4d at every stage: 2–17× faster than split);
 *  - otherwise (8 ≤ G < 32 with wide groups): dense if G ≤ 8 (G× the MACs but one XNNPACK call), else split.
 */
export type GroupedConvImplChoice = GroupedConvImpl | 'auto';

/** What `groupedConv2d` runs when no `impl` is given: 'auto' (a per-shape choice, `chooseGroupedConvImpl`). */
export const DEFAULT_GROUPED_CONV_IMPL: GroupedConvImplChoice = 'auto';

export function chooseGroupedConvImpl(groups: number, inPerGroup: number): GroupedConvImpl {
  if (groups <= 4) return 'split';
  if (inPerGroup <= 8 || groups >= 32) return 'depthwise';
  return groups <= 8 ? 'dense' : 'split';
}

export interface GroupedConv2dArgs {
  groups: number;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  /** Default 'auto' (`chooseGroupedConvImpl`). */
  impl?: GroupedConvImplChoice;
}

/** The block-diagonal 0/1 mask [C, C′] of a G-group conv (input group g feeds output group g only). */
function blockDiagonalMask(cin: number, cout: number, groups: number): tf.Tensor2D {
  const ci = cin / groups;
  const co = cout / groups;
  const m = new Float32Array(cin * cout);
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < ci; i++) {
      const row = (g * ci + i) * cout + g * co;
      m.fill(1, row, row + co);
    }
  }
  return tf.tensor2d(m, [cin, cout]);
}

/**
 * x [n, h, w, C] ⊛ weight [kh, kw, C/G, C′] with G groups (PyTorch semantics: input channels [g·C/G, (g+1)·C/G)
 * → output channels [g·C′/G, (g+1)·C′/G)), optional bias [C′]; PyTorch symmetric padding.
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  weight: tf.Tensor4D,
  args: GroupedConv2dArgs,
  bias: tf.Tensor1D | null = null,
): tf.Tensor4D {
  const G = args.groups;
  const [kh, kw, ci, cout] = weight.shape;
  const choice = args.impl ?? DEFAULT_GROUPED_CONV_IMPL;
  const impl = choice === 'auto' ? chooseGroupedConvImpl(G, ci) : choice;
  const cin = x.shape[3];
  if (!Number.isInteger(G) || G < 1 || cin !== ci * G || cout % G !== 0) {
    throw new Error(
      `groupedConv2d: input [${x.shape.join(', ')}] and weight [${weight.shape.join(', ')}] do not form a ${G}-group conv`,
    );
  }
  if (G === 1 || impl === 'split') {
    return conv2d(x, weight, bias, { stride: args.stride, padding: args.padding, dilation: args.dilation, groups: G });
  }
  const stride = pair(args.stride ?? 1, 'groupedConv2d stride', 1);
  const dilation = pair(args.dilation ?? 1, 'groupedConv2d dilation', 1);
  const pad = explicitPadding(pair(args.padding ?? 0, 'groupedConv2d padding', 0));
  const co = cout / G;
  return tf.tidy(() => {
    let y: tf.Tensor4D;
    if (impl === 'dense') {
      // G copies along the input axis (concat: wasm's Tile is ~30 ms per call even on a small weight), masked.
      const full = tf.mul(tf.concat(new Array<tf.Tensor4D>(G).fill(weight), 2), blockDiagonalMask(cin, cout, G)) as tf.Tensor4D;
      y = tf.conv2d(x, full, stride, pad, 'NHWC', dilation);
    } else if (impl === 'depthwise') {
      // dw[:, :, g·ci + i, j] = W[:, :, i, g·co + j]
      const dw = tf.reshape(tf.transpose(tf.reshape(weight, [kh, kw, ci, G, co]), [0, 1, 3, 2, 4]), [kh, kw, cin, co]) as tf.Tensor4D;
      const z = tf.depthwiseConv2d(x, dw, stride, pad, 'NHWC', dilation); // [n, h', w', cin·co], index (g·ci + i)·co + j
      const [n, ho, wo] = z.shape;
      y = (ci === 1 ? z : tf.reshape(tf.sum(tf.reshape(z, [n * ho * wo * G, ci, co]), 1), [n, ho, wo, cout])) as tf.Tensor4D;
    } else {
      throw new Error(`groupedConv2d: unknown impl "${String(impl)}"; expected split, dense or depthwise`);
    }
    return bias ? tf.add(y, bias) : y;
  });
}

export interface GroupedConv2dOptions extends Conv2dOptions {
  /** Default 'auto'. */
  impl?: GroupedConvImplChoice;
}

/** `Conv2d` (same parameters, names, init and semantics) whose grouped forward runs `groupedConv2d`. */
export class GroupedConv2d extends Conv2d {
  readonly impl: GroupedConvImplChoice;

  constructor(opts: GroupedConv2dOptions) {
    super(opts);
    this.impl = opts.impl ?? 'auto';
  }

  override forward(x: tf.Tensor4D): tf.Tensor4D {
    return groupedConv2d(
      x,
      this.weight as tf.Tensor4D,
      { groups: this.groups, stride: this.stride, padding: this.padding, dilation: this.dilation, impl: this.impl },
      this.bias as tf.Tensor1D | null,
    );
  }
}
