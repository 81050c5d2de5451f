import * as tf from '@tensorflow/tfjs';

/**
 * The filter gradient of `tf.conv2d(x, ·, strides, pad)` for the output gradient `dy`, by the registered
 * Conv2DBackpropFilter kernel (the one the tape runs; tiedet's own on wasm, conv2d-backprop-filter.ts). For custom ops
 * with a hand-written backward and the Winograd filter gradient's 1×1 products.
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  strides: readonly [number, number],
  pad: 'valid' | readonly (readonly [number, number])[],
  filterShape: readonly number[],
): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
