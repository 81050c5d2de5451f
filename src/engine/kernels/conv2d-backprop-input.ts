/**
 * `Conv2DBackpropInput` for the wasm backend, replacing the stock kernel (a naive C++ loop, 10–25× slower than
 * the forward conv).
 *
 *   dx[n, i, j, ci] = Σ dy[n, oh, ow, co] · W[kh, kw, ci, co]   over i = oh·s + kh − padTop, j = ow·s + kw − padLeft
 *
 * Two formulations, picked per shape by a small cost model (`chooseInputGradStrategy`):
 *
 * - 'phase': write i = s·a + p. Output phase (p, q) is a stride-1 correlation of dy with the sub-filter of the taps
 *   kh ≡ p + padTop, kw ≡ q + padLeft (mod s), flipped and in/out-swapped: one XNNPACK conv per non-empty phase
 *   (one conv in all for stride 1), no zero-inserted dy, no wasted taps. Phase outputs are scattered into dx on the
 *   wasm heap. The sub-filters are assembled on the heap from W transposed once to [KH, KW, Co, Ci].
 * - 'gemm' (small spatial size, large filter): cols = W[(kh, kw, ci), co] · dyᵀ[co, (n, oh, ow)] as one rank-2
 *   GEMM in which only the small dyᵀ gets packed, then the taps are scatter-added (col2im) into dx on the heap.
 *   The 'phase' conv would have XNNPACK repack the whole K·Ci·Co filter (~4.5 ns per value) on every call.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, convGeometry, type ConvAttrs, type ConvGeometry } from './conv-geometry.js';
import { interleavePhases, listPhases, phaseInput, tapAt, type Phase } from './phases.js';
import { ctz, heapF32, newHeapTensor, runWithTensors, swapLastTwo, transposeRows, type TensorInfo } from './tensor-plumbing.js';

export const KERNEL = 'Conv2DBackpropInput';

export type InputGradStrategy = 'auto' | 'phase' | 'gemm';

interface BackpropInputAttrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

/**
 * Sub-filter [LH, LW, Co', Ci] of phase (p, q): at window position (u, v) it is W[kh, kw]ᵀ for the tap the phase
 * reads there, zero otherwise. `wT` is W as [KH, KW, Co', Ci] (Co' ≥ Co: extra zero input channels allowed).
 */
function phaseFilter(wT: tf.Tensor, g: ConvGeometry, coIn: number, { p, q, wh, ww }: Phase): tf.Tensor4D {
  const { kH, kW, inC: ci } = g;
  const block = coIn * ci;
  const out = newHeapTensor([wh.length, ww.length, coIn, ci]) as tf.Tensor4D;
  const dst = heapF32(out);
  const src = heapF32(wT);
  for (let u = 0; u < wh.length; u++) {
    const kh = tapAt(p, wh.deltaMin + u, g.sH, g.padTop, kH);
    for (let v = 0; v < ww.length; v++) {
      const kw = tapAt(q, ww.deltaMin + v, g.sW, g.padLeft, kW);
      const d0 = (u * ww.length + v) * block;
      if (kh < 0 || kw < 0) dst.fill(0, d0, d0 + block);
      else {
        const s0 = (kh * kW + kw) * block;
        dst.set(src.subarray(s0, s0 + block), d0);
      }
    }
  }
  return out;
}

function phaseConvInput(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const { inC: Ci, outC: Co } = g;
  const phases = listPhases(g);
  // The conv op transposes its filter as a 2-D [LH·LW·Co, Ci] matrix before packing; with a row count that is a
  // multiple of 128 the strided writes hit the same cache sets and that step gets ~5× slower (~20 ns per filter
  // value instead of ~4). One zero input channel (and a zero channel appended to dy, ~1 ns per dy value) avoids it
  // when the filter is big next to dy.
  const dySize = dy.size;
  const padChannel = phases.some(({ wh, ww }) => {
    const filterSize = wh.length * ww.length * Co * Ci;
    return ctz(wh.length * ww.length * Co) >= 7 && filterSize >= 1 << 17 && filterSize * 16 > dySize;
  });
  const coIn = padChannel ? Co + 1 : Co;
  let wT = swapLastTwo(filter); // [KH, KW, Co, Ci]
  let dyIn = dy;
  if (padChannel) {
    wT = tf.pad(wT, [[0, 0], [0, 0], [0, 1], [0, 0]]);
    dyIn = tf.pad(dy, [[0, 0], [0, 0], [0, 0], [0, 1]]);
  }
  const outs = phases.map((ph) => {
    const { src, pad } = phaseInput(dyIn, ph, g);
    return tf.conv2d(src, phaseFilter(wT, g, coIn, ph), 1, pad);
  });
  return interleavePhases(outs, phases, g, Ci);
}

function gemmInput(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const { batch: N, inH: H, inW: W, inC: Ci, outH: OH, outW: OW, outC: Co, kH: KH, kW: KW, sH, sW } = g;
  const M = N * OH * OW;
  const dyT = transposeRows(dy, M, Co); // [Co, M]
  const cols = tf.matMul(filter.reshape([KH * KW * Ci, Co]), dyT); // [(kh, kw, ci), (n, oh, ow)]
  const dxT = newHeapTensor([Ci, N, H, W]);
  const dst = heapF32(dxT);
  const src = heapF32(cols);
  dst.fill(0);
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const c0 = kw - g.padLeft; // column of ow = 0
      const owLo = Math.max(0, Math.ceil(-c0 / sW));
      const owHi = Math.min(OW, Math.floor((W - 1 - c0) / sW) + 1);
      if (owHi <= owLo) continue;
      for (let ci = 0; ci < Ci; ci++) {
        const row = ((kh * KW + kw) * Ci + ci) * M;
        for (let n = 0; n < N; n++) {
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * sH + kh - g.padTop;
            if (ih < 0 || ih >= H) continue;
            const s0 = row + (n * OH + oh) * OW;
            const d0 = ((ci * N + n) * H + ih) * W + c0;
            for (let ow = owLo; ow < owHi; ow++) dst[d0 + ow * sW] += src[s0 + ow]!;
          }
        }
      }
    }
  }
  return transposeRows(dxT, Ci, N * H * W).reshape([N, H, W, Ci]) as tf.Tensor4D;
}

/**
 * Cost model (ns), fitted to measurements on the 2-core dev machine: XNNPACK packs a fresh operand at ~4.5 ns per
 * value and multiplies at ~30 GMAC/s; the heap scatter-add runs ~1.5 ns per value.
 */
export function chooseInputGradStrategy(g: ConvGeometry): Exclude<InputGradStrategy, 'auto'> {
  const K = g.kH * g.kW;
  const M = g.batch * g.outH * g.outW;
  const macs = K * g.inC * g.outC * M;
  const phaseCost = K * g.inC * g.outC * 4.5 + macs / 30 + (g.sH * g.sW > 1 ? 2 * g.batch * g.inH * g.inW * g.inC : 0);
  const gemmCost = M * g.outC * 5.5 + macs / 30 + K * g.inC * M * 1.5 + g.batch * g.inH * g.inW * g.inC;
  return gemmCost < phaseCost ? 'gemm' : 'phase';
}

export function conv2dBackpropInputImpl(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  attrs: BackpropInputAttrs,
  strategy: InputGradStrategy = 'auto',
): tf.Tensor4D {
  const g = convGeometry(KERNEL, attrs.inputShape, filter.shape, attrs, false);
  assertShape(KERNEL, 'dy', dy.shape, [g.batch, g.outH, g.outW, g.outC]);
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`tiedet ${KERNEL} (wasm): float32 only, got dy ${dy.dtype}, filter ${filter.dtype}`);
  }
  const s = strategy === 'auto' ? chooseInputGradStrategy(g) : strategy;
  return tf.tidy(() => (s === 'gemm' ? gemmInput(dy, filter, g) : phaseConvInput(dy, filter, g)));
}

export function conv2dBackpropInputKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as BackpropInputAttrs;
  return runWithTensors(args.backend, [dy, filter], (dyt, ft) =>
    conv2dBackpropInputImpl(dyt as tf.Tensor4D, ft as tf.Tensor4D, attrs),
  );
}
