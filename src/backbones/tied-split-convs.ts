/**
 * The TiedBottleneck's split section as ONE differentiable op for the training path on wasm (issue 23):
 *
 *   entry [n, h, w, s·ws] → split i into its B_i blocks, block-major [B_i·n, h, w, ws/B_i] → the split's shared
 *   3×3 filter → back to channels [n, h′, w′, s·ws]
 *
 * The general path does this with `tf.split`, a reshape / transpose / reshape per split on the way in and out, and
 * `tf.concat`; under the tape each of those also runs backwards (the stock wasm SplitV copies through JavaScript:
 * ~20 ms per call at 800×1333). Here the way in and the way out are one SIMD heap pass each (`moveToBlocks` /
 * `collectFromBlocks`, exact permutations), forwards and backwards, and the backward of each split's conv runs the
 * conv's own gradient kernels (Conv2DBackpropInput / Conv2DBackpropFilter, as the tape would) — or, for a split whose
 * blocks are wide enough for Winograd (`winogradShapeApplies`: ≥ 64 channels per block, ≥ 512 tiles over its B·n
 * batch), forward, dx and dW by Winograd as `conv2d` takes them elsewhere (src/nn/winograd-conv-op.ts). Same values
 * and gradients as the general path (a permutation moves floats without arithmetic; Winograd within ~1e-5).
 *
 * `tiedSplitConvs` returns null where it does not apply — not wasm, SIMD module off, a block width not a multiple of
 * 4 (e.g. the -S variants' 18-wide splits), grouped (TGC), dilated or biased split convs — and the caller keeps the general
 * path.
 */
import * as tf from '@tensorflow/tfjs';
import { collectFromBlocks, moveToBlocks } from '../engine/kernels/tensor-plumbing.js';
import { simdPlumbing } from '../engine/kernels/simd-plumbing.js';
import { customOp } from '../nn/custom-op.js';
import { conv2dFilterGrad } from '../engine/kernels/conv-filter-grad.js';
import { explicitPadding } from '../nn/functional.js';
import { winogradConv3x3, winogradShapeApplies } from '../engine/kernels/winograd-conv.js';
import { winogradConvBackward } from '../nn/winograd-conv-op.js';

let enabled = true;

/** Turn the op off (true → on again): the general path, for A/B timing and the tests that compare both. */
export function setTiedSplitConvs(on: boolean): void {
  enabled = on;
}

/** What the op needs of each split's TBC. */
export interface SplitConv {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly blocks: number;
  readonly groups: number;
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
}

/** Whether the op takes this entry and these split convs. */
export function tiedSplitConvsApplies(entry: tf.Tensor4D, convs: readonly SplitConv[]): boolean {
  if (!enabled || tf.getBackend() !== 'wasm' || entry.dtype !== 'float32' || simdPlumbing() === null) return false;
  const ws = entry.shape[3] / convs.length;
  return convs.every((c) => c.groups === 1 && c.bias === null && c.dilation[0] === 1 && c.dilation[1] === 1 && ws % c.blocks === 0 && (ws / c.blocks) % 4 === 0 && ws % 4 === 0);
}

/** y = the split section (see the file comment), differentiable w.r.t. the entry and every split's weight; or null. */
export function tiedSplitConvs(entry: tf.Tensor4D, convs: readonly SplitConv[]): tf.Tensor4D | null {
  if (!tiedSplitConvsApplies(entry, convs)) return null;
  const n = entry.shape[0];
  const blocks = convs.map((c) => c.blocks);
  const conv = (x: tf.Tensor4D, w: tf.Tensor4D, c: SplitConv): tf.Tensor4D =>
    winogradShapeApplies(x, w, c)
      ? winogradConv3x3(x, w, null, false)
      : tf.conv2d(x, w, c.stride as [number, number], explicitPadding(c.padding as [number, number]), 'NHWC', c.dilation as [number, number]);
  const op = customOp<tf.Tensor4D>((inputs, save) => {
    const [x, ...weights] = inputs as tf.Tensor4D[];
    const parts = moveToBlocks(x!, blocks)!;
    const outs = parts.map((p, i) => conv(p, weights[i]!, convs[i]!));
    const value = collectFromBlocks(outs, n)!;
    save(parts);
    return {
      value,
      gradFunc: (dy, saved) => {
        const dOuts = moveToBlocks(dy as tf.Tensor4D, blocks)!;
        const dParts: tf.Tensor4D[] = [];
        const dWeights: tf.Tensor[] = [];
        for (let i = 0; i < convs.length; i++) {
          const c = convs[i]!;
          const part = saved[i]! as tf.Tensor4D;
          if (winogradShapeApplies(part, weights[i]!, c)) {
            const [dx, dw] = winogradConvBackward(dOuts[i]!, part, weights[i]!);
            dParts.push(dx);
            dWeights.push(dw);
            continue;
          }
          const pad = explicitPadding(c.padding as [number, number]);
          // the conv's own gradient kernels (as the tape would run them), without re-running its forward
          dParts.push(tf.conv2dTranspose(dOuts[i]!, weights[i]!, part.shape, c.stride as [number, number], pad));
          dWeights.push(conv2dFilterGrad(part, dOuts[i]!, c.stride as [number, number], pad, weights[i]!.shape));
        }
        const dx = collectFromBlocks(dParts, n)!;
        tf.dispose([...dOuts, ...dParts]);
        return [dx, ...dWeights];
      },
    };
  });
  return op(entry, ...convs.map((c) => c.weight));
}
