/**
 * `Transpose` for wasm, reduced to the lowest rank first.
 *
 * The stock wasm kernel is fast up to rank 3–4 but an order of magnitude slower at rank 5–6 (measured: moving
 * the block axis of [32,16,16,2,32] into the batch takes 50 ms as a rank-5 transpose and 5.7 ms as the
 * equivalent rank-3 one). Many transposes in practice are of higher rank only nominally: axes that stay next to
 * each other and in order can be merged, and axes of size 1 dropped, without changing the result. This kernel
 * does that and hands the smaller problem to the stock kernel — no data is copied for the reshapes (a tensor's
 * shape is only metadata on the wasm heap).
 */
import type * as tf from '@tensorflow/tfjs';

export const KERNEL = 'Transpose';

export interface ReducedTranspose {
  /** The input viewed with merged axes. */
  shape: number[];
  /** The permutation of the merged axes. */
  perm: number[];
}

/**
 * Merge runs of axes that are consecutive in both the input and the output (down to rank 3, see below), and drop
 * axes of size 1. `reduceTranspose([n,h,w,B,c], [3,0,1,2,4])` → shape [n·h·w, B, c], perm [1, 0, 2].
 */
export function reduceTranspose(shape: readonly number[], perm: readonly number[]): ReducedTranspose {
  // Drop size-1 axes (they do not move any data), renumbering the rest.
  const kept = perm.filter((axis) => shape[axis] !== 1);
  const order = [...kept].sort((a, b) => a - b);
  const rank = new Map(order.map((axis, i) => [axis, i]));
  const p = kept.map((axis) => rank.get(axis)!);
  const s = order.map((axis) => shape[axis]!);
  if (p.length === 0) return { shape: [1], perm: [0] };
  // Group output positions whose input axes are consecutive.
  const groups: number[][] = [[p[0]!]];
  for (let i = 1; i < p.length; i++) {
    const g = groups[groups.length - 1]!;
    if (p[i] === g[g.length - 1]! + 1) g.push(p[i]!);
    else groups.push([p[i]!]);
  }
  // Stop at rank 3: wasm's rank-2 transpose is ~15× slower when the row count is a multiple of a large power of
  // two (measured: [8192,64] 8.8 ms vs [8200,64] 0.5 ms), so [a,b,C]→[C,a,b] stays rank 3 rather than [ab,C]ᵀ.
  while (groups.length === 2 && groups.some((g) => g.length > 1)) {
    const i = groups.findIndex((g) => g.length > 1);
    const g = groups[i]!;
    groups.splice(i, 1, [g[0]!], g.slice(1));
  }
  // Groups in input order give the merged input shape; their output order gives the permutation.
  const byInput = [...groups].sort((a, b) => a[0]! - b[0]!);
  const mergedShape = byInput.map((g) => g.reduce((acc, axis) => acc * s[axis]!, 1));
  const index = new Map(byInput.map((g, i) => [g, i]));
  return { shape: mergedShape, perm: groups.map((g) => index.get(g)!) };
}

/** Wrap the stock wasm Transpose kernel so that it always runs at the reduced rank. */
export function makeTransposeKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    const perm = (attrs as unknown as { perm: number[] }).perm;
    const reduced = reduceTranspose(x.shape, perm);
    const outShape = perm.map((axis) => x.shape[axis]!);
    const isIdentity = reduced.perm.every((axis, i) => axis === i);
    if (reduced.perm.length === perm.length && !isIdentity) return stock({ inputs, attrs, backend });
    const view: tf.TensorInfo = { dataId: x.dataId, shape: reduced.shape, dtype: x.dtype };
    // An identity permutation (after merging) still needs a fresh output tensor: the stock kernel copies.
    const out = stock({ inputs: { x: view }, attrs: { perm: reduced.perm } as unknown as tf.NamedAttrMap, backend }) as tf.TensorInfo;
    return { dataId: out.dataId, shape: outShape, dtype: out.dtype };
  };
}
