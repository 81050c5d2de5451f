/**
 * Tied Block Convolution (TBC) and Tied Group Convolution (TGC) — PAPER.md, "Layers".
 *
 * The c input channels are cut into B equal CONTIGUOUS blocks; ONE filter W′ (c/B → c′/B) is applied to every
 * block and the B outputs are concatenated in block order: output block b of sample i = conv(W′, input block b
 * of sample i). This is the official code's `x.view(n·B, c/B, h, w)` → conv → `view(n, c′, h′, w′)`. With
 * `groups` G > 1 (TGC) the shared filter is itself a G-group conv. The bias (if any) is shared too. B = 1 is a
 * standard (or G-group) conv.
 *
 * Parameters: `weight` [kh, kw, c/(B·G), c′/B] (TF.js layout; the official PyTorch module keeps it as
 * `conv.weight` [c′/B, c/(B·G), kh, kw] — `io/` maps names and layout), `bias` [c′/B].
 * Count: c·c′·k²/(G·B²) (+ c′/B with bias).
 *
 * Forward on NHWC, three paths (all the same function):
 *  - B = 1: a plain conv.
 *  - 1×1 kernel, stride 1, no padding: the blocks are contiguous channel slices, so [n, h, w, c] →
 *    [n, h, w·B, c/B] is a free reshape that turns every (pixel, block) into its own pixel; one 1×1 conv;
 *    reshape back. No transposes.
 *  - otherwise: move the block axis into the batch — reshape [n·h·w, B, c/B] → rank-3 transpose → [B·n, h, w,
 *    c/B] — one conv, and back. (research/engine.md §2.1: 2–3× faster than split + B convs + concat at B = 4, 8;
 *    measured here: the rank-3 transpose is 5–20× faster than the equivalent rank-5 one on wasm, and faster than
 *    split + concat into the batch.) The
 *    batch order inside (block-major) differs from the official (sample-major) view but convs treat batch
 *    entries independently, so the result is identical.
 * Dilation > 1 works in the forward pass only (TF.js has no dilated conv gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { conv2d, pair } from '../nn/functional.js';
import { computeFans, torchDefaultBias, torchDefaultWeight } from '../nn/init.js';
import type { Conv2dOptions } from '../nn/conv2d.js';
import { Module } from '../nn/module.js';
import type { Rng } from '../nn/rng.js';

/**
 * Options as `Conv2d`'s, plus the number of tied blocks. `groups` are the groups G of the shared filter (TGC): they
 * must divide c/B and c′/B. The bias (default true, as the official `TiedBlockConv2d`) is shared: [c′/B]. The
 * default initialisers are the inner `nn.Conv2d`'s, with fan_in = c/(B·G)·k².
 */
export interface TiedBlockConv2dOptions extends Conv2dOptions {
  /** Number of tied blocks B; must divide both channel counts. */
  blocks: number;
}

export class TiedBlockConv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly blocks: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(opts: TiedBlockConv2dOptions) {
    super();
    const { inChannels: c, outChannels: co, blocks: B } = opts;
    const G = opts.groups ?? 1;
    if (!Number.isInteger(B) || B < 1 || c % B !== 0 || co % B !== 0) {
      throw new Error(`TiedBlockConv2d: blocks=${B} must divide inChannels=${c} and outChannels=${co}`);
    }
    if (!Number.isInteger(G) || G < 1 || (c / B) % G !== 0 || (co / B) % G !== 0) {
      throw new Error(`TiedBlockConv2d: groups=${G} must divide the block widths ${c / B} (in) and ${co / B} (out)`);
    }
    this.inChannels = c;
    this.outChannels = co;
    this.blocks = B;
    this.groups = G;
    this.kernelSize = pair(opts.kernelSize, 'TiedBlockConv2d kernelSize', 1);
    this.stride = pair(opts.stride ?? 1, 'TiedBlockConv2d stride', 1);
    this.padding = pair(opts.padding ?? 0, 'TiedBlockConv2d padding', 0);
    this.dilation = pair(opts.dilation ?? 1, 'TiedBlockConv2d dilation', 1);
    const shape = [this.kernelSize[0], this.kernelSize[1], c / (B * G), co / B];
    this.weight = this.registerParameter('weight', (opts.weightInit ?? torchDefaultWeight)(shape, opts.rng));
    if (opts.bias ?? true) {
      const init = opts.biasInit ?? ((s: readonly number[], r: Rng) => torchDefaultBias(s[0]!, computeFans(shape).fanIn, r));
      this.bias = this.registerParameter('bias', init([co / B], opts.rng));
    } else {
      this.bias = null;
    }
  }

  /** [n, h, w, c] → [n, h′, w′, c′] (output sizes as a PyTorch conv). */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, c] = x.shape;
    if (x.rank !== 4 || c !== this.inChannels) {
      throw new Error(`TiedBlockConv2d: expected [n, h, w, ${this.inChannels}], got [${x.shape.join(', ')}]`);
    }
    const B = this.blocks;
    const weight = this.weight as tf.Tensor4D;
    const bias = this.bias as tf.Tensor1D | null;
    const args = { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
    if (B === 1) return conv2d(x, weight, bias, args);
    const cb = c / B;
    const cob = this.outChannels / B;
    return tf.tidy(() => {
      const pointwise =
        this.kernelSize[0] === 1 && this.kernelSize[1] === 1 &&
        this.stride[0] === 1 && this.stride[1] === 1 &&
        this.padding[0] === 0 && this.padding[1] === 0;
      if (pointwise) {
        const y = conv2d(tf.reshape(x, [n, h, w * B, cb]), weight, bias, { groups: this.groups });
        return tf.reshape(y, [n, h, w, this.outChannels]);
      }
      // [n·h·w, B, c/B] → [B, n·h·w, c/B]: a rank-3 transpose (a rank-5 one is ~10× slower on wasm).
      const xb = tf.reshape(tf.transpose(tf.reshape(x, [n * h * w, B, cb]), [1, 0, 2]), [B * n, h, w, cb]);
      const y = conv2d(xb as tf.Tensor4D, weight, bias, args);
      const [, ho, wo] = y.shape;
      return tf.reshape(tf.transpose(tf.reshape(y, [B, n * ho * wo, cob]), [1, 0, 2]), [n, ho, wo, this.outChannels]);
    });
  }
}
