/**
 * Geometry of a 2-D convolution as the gradient kernels see it, computed with tfjs-core's own
 * `computeConv2DInfo`, so 'same' / 'valid' / explicit padding and `dimRoundingMode` mean exactly what the forward
 * op meant. NHWC only, dilation 1 only (tfjs's conv2d and depthwiseConv2d gradients refuse dilation > 1 too).
 */
import * as tf from '@tensorflow/tfjs';

export type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  /** Output channels (for depthwise: inC · multiplier). */
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

function pair(v: number | [number, number] | undefined, dflt: number): [number, number] {
  if (v == null) return [dflt, dflt];
  return typeof v === 'number' ? [v, v] : [v[0], v[1]];
}

/**
 * @param xShape [N, H, W, Ci]
 * @param filterShape [KH, KW, Ci, Co] (conv2d) or [KH, KW, Ci, multiplier] (depthwise)
 */
export function convGeometry(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise: boolean,
): ConvGeometry {
  if (attrs.dataFormat != null && attrs.dataFormat !== 'NHWC') {
    throw new Error(`tiedet ${kernelName} (wasm): only dataFormat 'NHWC' is supported, got '${attrs.dataFormat}'`);
  }
  const [dH, dW] = pair(attrs.dilations, 1);
  if (dH !== 1 || dW !== 1) {
    throw new Error(
      `tiedet ${kernelName} (wasm): dilations other than 1 are not supported in gradients, got [${dH}, ${dW}]`,
    );
  }
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`tiedet ${kernelName} (wasm): expected rank-4 input and filter, got [${xShape}] and [${filterShape}]`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    padTop: info.padInfo.top,
    padBottom: info.padInfo.bottom,
    padLeft: info.padInfo.left,
    padRight: info.padInfo.right,
  };
}

export function assertShape(kernelName: string, what: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((v, i) => v !== expected[i])) {
    throw new Error(`tiedet ${kernelName} (wasm): ${what} has shape [${actual}], expected [${expected}]`);
  }
}
