/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (stock TF.js 4.22 has none).
 *
 *   dx[n, i, j, c] = Σ_m Σ dy[n, oh, ow, c·M + m] · W[kh, kw, c, m]   over i = oh·s + kh − padTop, j = ow·s + kw − padLeft
 *
 * Same phase decomposition as the conv2d input gradient (`phases.ts`), with one XNNPACK depthwise conv per
 * non-empty stride phase: its sub-filter [LH, LW, C·M, 1] is W's [C, M] tap blocks, flipped, copied on the heap.
 * For a channel multiplier M > 1 the M products per input channel are summed over the innermost axis.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, convGeometry, type ConvAttrs, type ConvGeometry } from './conv-geometry.js';
import { interleavePhases, listPhases, phaseInput, tapAt, type Phase } from './phases.js';
import { heapF32, newHeapTensor, runWithTensors, type TensorInfo } from './tensor-plumbing.js';

export const KERNEL = 'DepthwiseConv2dNativeBackpropInput';

interface Attrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

function phaseFilter(filter: tf.Tensor4D, g: ConvGeometry, { p, q, wh, ww }: Phase): tf.Tensor4D {
  const block = g.outC; // C·M values per tap
  const out = newHeapTensor([wh.length, ww.length, block, 1]) as tf.Tensor4D;
  const dst = heapF32(out);
  const src = heapF32(filter);
  for (let u = 0; u < wh.length; u++) {
    const kh = tapAt(p, wh.deltaMin + u, g.sH, g.padTop, g.kH);
    for (let v = 0; v < ww.length; v++) {
      const kw = tapAt(q, ww.deltaMin + v, g.sW, g.padLeft, g.kW);
      const d0 = (u * ww.length + v) * block;
      if (kh < 0 || kw < 0) dst.fill(0, d0, d0 + block);
      else dst.set(src.subarray((kh * g.kW + kw) * block, (kh * g.kW + kw + 1) * block), d0);
    }
  }
  return out;
}

export function depthwiseBackpropInputImpl(dy: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const g = convGeometry(KERNEL, attrs.inputShape, filter.shape, attrs, true);
  assertShape(KERNEL, 'dy', dy.shape, [g.batch, g.outH, g.outW, g.outC]);
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') {
    throw new Error(`tiedet ${KERNEL} (wasm): float32 only, got dy ${dy.dtype}, filter ${filter.dtype}`);
  }
  const mult = filter.shape[3];
  return tf.tidy(() => {
    // XNNPACK's depthwise conv has fast micro-kernels for 2×2, 3×3 and 5×5 filters only (a 1×1, 1×2 or 2×1 one
    // is ~3–8× slower), so short phase windows are extended with zero taps to one of those sizes.
    const phases = listPhases(g).map((ph) => {
      const L = Math.max(ph.wh.length, ph.ww.length);
      const target = L <= 2 ? 2 : L <= 3 ? 3 : L <= 5 ? 5 : 0;
      return target ? { ...ph, wh: { ...ph.wh, length: target }, ww: { ...ph.ww, length: target } } : ph;
    });
    const outs = phases.map((ph) => {
      const { src, pad } = phaseInput(dy, ph, g);
      const y = tf.depthwiseConv2d(src, phaseFilter(filter, g, ph), 1, pad); // [N, A, B, C·M]
      if (mult === 1) return y;
      const [N, A, B] = y.shape;
      return tf.sum(y.reshape([N, A, B, g.inC, mult]), 4) as tf.Tensor4D;
    });
    return interleavePhases(outs, phases, g, g.inC);
  });
}

export function depthwiseBackpropInputKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as Attrs;
  return runWithTensors(args.backend, [dy, filter], (dyt, ft) =>
    depthwiseBackpropInputImpl(dyt as tf.Tensor4D, ft as tf.Tensor4D, attrs),
  );
}
