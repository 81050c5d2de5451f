/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (stock TF.js 4.22 has none).
 *
 *   dW[kh, kw, c, m] = Σ_{n, oh, ow} xpad[n, oh·s + kh, ow·s + kw, c] · dy[n, oh, ow, c·M + m]
 *
 * This is itself a depthwise convolution, with dy as the filter: one XNNPACK depthwise conv over x whose
 * [OH, OW] filter is dy, dilated by the forward stride, with the forward padding, gives the [KH, KW] taps.
 * The batch is folded into the channels (x → [1, H, W, N·C], dy → [OH, OW, N·C, M], rank-4 transposes that wasm
 * does quickly), then summed out.
 */
import * as tf from '@tensorflow/tfjs';
import { assertShape, convGeometry, type ConvAttrs } from './conv-geometry.js';
import { crop4d, runWithTensors, type TensorInfo } from './tensor-plumbing.js';

export const KERNEL = 'DepthwiseConv2dNativeBackpropFilter';

interface Attrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

export function depthwiseBackpropFilterImpl(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Attrs): tf.Tensor4D {
  const g = convGeometry(KERNEL, x.shape, attrs.filterShape, attrs, true);
  assertShape(KERNEL, 'dy', dy.shape, [g.batch, g.outH, g.outW, g.outC]);
  if (x.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`tiedet ${KERNEL} (wasm): float32 only, got x ${x.dtype}, dy ${dy.dtype}`);
  }
  const { batch: N, inH: H, inW: W, inC: C, outH: OH, outW: OW, kH: KH, kW: KW, sH, sW } = g;
  const mult = attrs.filterShape[3];
  return tf.tidy(() => {
    const xf = (N > 1 ? tf.transpose(x, [1, 2, 0, 3]) : x).reshape([1, H, W, N * C]) as tf.Tensor4D;
    const f = (N > 1 ? tf.transpose(dy, [1, 2, 0, 3]) : dy).reshape([OH, OW, N * C, mult]) as tf.Tensor4D;
    // Output rows = H + top + bottom − (OH − 1)·sH must be ≥ KH (extra rows, from x rows no tap reads, are cropped).
    const bottom = Math.max(0, KH + (OH - 1) * sH - H - g.padTop);
    const right = Math.max(0, KW + (OW - 1) * sW - W - g.padLeft);
    let r = tf.depthwiseConv2d(
      xf,
      f,
      1,
      [
        [0, 0],
        [g.padTop, bottom],
        [g.padLeft, right],
        [0, 0],
      ],
      'NHWC',
      [sH, sW],
    ); // [1, ≥KH, ≥KW, N·C·M]
    if (r.shape[1] !== KH || r.shape[2] !== KW) r = crop4d(r, [0, 0, 0, 0], [1, KH, KW, N * C * mult]) as tf.Tensor4D;
    const per = r.reshape([KH, KW, N, C * mult]);
    return (N > 1 ? tf.sum(per, 2) : per).reshape([KH, KW, C, mult]);
  });
}

export function depthwiseBackpropFilterKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as Attrs;
  return runWithTensors(args.backend, [x, dy], (xt, dyt) =>
    depthwiseBackpropFilterImpl(xt as tf.Tensor4D, dyt as tf.Tensor4D, attrs),
  );
}
