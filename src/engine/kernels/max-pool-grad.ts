/**
 * `MaxPoolGrad` for the wasm backend, replacing the stock kernel (60–70 ms for the ResNet stem's 3×3/2 pool of a
 * [2, 128, 128, 64] map, ~6% of a ResNet-18 training step; this one takes ~14 ms).
 *
 * dy of each pooling window goes to the window's first maximum in row-major order (strict >), as the cpu kernel
 * chooses it; windows that hold only padding pass nothing. One pass over the windows on the wasm heap: with the
 * pooled output at hand (the gradient always has it) the winner is the first tap equal to the window's output;
 * without it the maximum is searched.
 */
import * as tf from '@tensorflow/tfjs';
import { heapF32, newHeapTensor, runWithTensors, type TensorInfo } from './tensor-plumbing.js';

export const KERNEL = 'MaxPoolGrad';

interface Attrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | [[number, number], [number, number], [number, number], [number, number]];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** `y`, the pooled output, is optional: with it the winners are found by equality (faster). */
export function maxPoolGradImpl(dy: tf.Tensor4D, x: tf.Tensor4D, attrs: Attrs, y?: tf.Tensor4D): tf.Tensor4D {
  if (dy.dtype !== 'float32' || x.dtype !== 'float32') {
    throw new Error(`tiedet ${KERNEL} (wasm): float32 only, got dy ${dy.dtype}, input ${x.dtype}`);
  }
  const info = tf.backend_util.computePool2DInfo(
    x.shape,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: N, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sH, strideWidth: sW, filterHeight: KH, filterWidth: KW } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  if (dy.shape[0] !== N || dy.shape[1] !== OH || dy.shape[2] !== OW || dy.shape[3] !== C) {
    throw new Error(`tiedet ${KERNEL} (wasm): dy has shape [${dy.shape}], expected [${N},${OH},${OW},${C}]`);
  }
  const dx = newHeapTensor(x.shape) as tf.Tensor4D;
  const out = heapF32(dx);
  const xs = heapF32(x);
  const g = heapF32(dy);
  const ys = y ? heapF32(y) : null;
  out.fill(0);
  const best = new Float32Array(C);
  const arg = new Int32Array(C);
  const taps = new Int32Array(KH * KW);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const r0 = oh * sH - pt;
      const rLo = Math.max(0, r0);
      const rHi = Math.min(H, r0 + KH);
      for (let ow = 0; ow < OW; ow++) {
        const c0 = ow * sW - pl;
        const cLo = Math.max(0, c0);
        const cHi = Math.min(W, c0 + KW);
        let nt = 0;
        for (let r = rLo; r < rHi; r++) for (let c = cLo; c < cHi; c++) taps[nt++] = ((n * H + r) * W + c) * C;
        if (nt === 0) continue;
        const o = ((n * OH + oh) * OW + ow) * C;
        if (ys) {
          // The pooled output is the window maximum: the winner is the first tap equal to it.
          for (let ch = 0; ch < C; ch++) {
            const m = ys[o + ch]!;
            for (let t = 0; t < nt; t++) {
              const p = taps[t]! + ch;
              if (xs[p] === m) {
                out[p] += g[o + ch]!;
                break;
              }
            }
          }
          continue;
        }
        best.fill(-Infinity);
        arg.fill(-1);
        for (let t = 0; t < nt; t++) {
          const base = taps[t]!;
          for (let ch = 0; ch < C; ch++) {
            const v = xs[base + ch]!;
            if (v > best[ch]!) {
              best[ch] = v;
              arg[ch] = base;
            }
          }
        }
        for (let ch = 0; ch < C; ch++) {
          const a = arg[ch]!;
          if (a >= 0) out[a + ch] += g[o + ch]!;
        }
      }
    }
  }
  return dx;
}

export function maxPoolGradKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const { dy, input, output } = args.inputs as { dy: TensorInfo; input: TensorInfo; output?: TensorInfo };
  const attrs = args.attrs as unknown as Attrs;
  const ins = output ? [dy, input, output] : [dy, input];
  return runWithTensors(args.backend, ins, (dyt, xt, yt) =>
    maxPoolGradImpl(dyt as tf.Tensor4D, xt as tf.Tensor4D, attrs, yt as tf.Tensor4D | undefined),
  );
}
