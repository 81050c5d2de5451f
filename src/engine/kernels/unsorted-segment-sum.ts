/**
 * `UnsortedSegmentSum` for the wasm backend (stock TF.js 4.22 has none; the gradient of `tf.gather` needs it).
 *
 *   out[j, ...] = Σ_{i : segmentIds[i] = j} x[i, ...]        (segmentIds' shape is a prefix of x's shape)
 *
 * One wasm `ScatterNd`, which accumulates duplicate indices. Ids outside [0, numSegments) are dropped, as the cpu
 * kernel does (TensorFlow drops negative ids and rejects too large ones).
 */
import * as tf from '@tensorflow/tfjs';
import { runWithTensors, type TensorInfo } from './tensor-plumbing.js';

export const KERNEL = 'UnsortedSegmentSum';

export function unsortedSegmentSumImpl(x: tf.Tensor, segmentIds: tf.Tensor, numSegments: number): tf.Tensor {
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new Error(`tiedet ${KERNEL} (wasm): numSegments must be a non-negative integer, got ${numSegments}`);
  }
  const idShape = segmentIds.shape;
  if (idShape.length > x.rank || idShape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`tiedet ${KERNEL} (wasm): segmentIds shape [${idShape}] must be a prefix of x shape [${x.shape}]`);
  }
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    throw new Error(`tiedet ${KERNEL} (wasm): x must be float32 or int32, got ${x.dtype}`);
  }
  const inner = x.shape.slice(idShape.length);
  const D = inner.reduce((a, b) => a * b, 1);
  const S = segmentIds.size;
  const outShape = [numSegments, ...inner];
  return tf.tidy(() => {
    if (S === 0 || numSegments === 0 || D === 0) return tf.zeros(outShape, x.dtype);
    const ids = segmentIds.dtype === 'int32' ? segmentIds : tf.cast(segmentIds, 'int32');
    const idVals = ids.dataSync() as Int32Array;
    let valid = 0;
    for (let i = 0; i < S; i++) if (idVals[i]! >= 0 && idVals[i]! < numSegments) valid++;
    let indices: tf.Tensor = ids.reshape([S, 1]);
    let updates: tf.Tensor = x.reshape([S, D]);
    if (valid === 0) return tf.zeros(outShape, x.dtype);
    if (valid < S) {
      const keep = new Int32Array(valid);
      const keptIds = new Int32Array(valid);
      for (let i = 0, k = 0; i < S; i++) {
        const id = idVals[i]!;
        if (id >= 0 && id < numSegments) {
          keep[k] = i;
          keptIds[k++] = id;
        }
      }
      indices = tf.tensor2d(keptIds, [valid, 1], 'int32');
      updates = tf.gather(updates, tf.tensor1d(keep, 'int32'));
    }
    return tf.scatterND(indices, updates, [numSegments, D]).reshape(outShape);
  });
}

export function unsortedSegmentSumKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const { x, segmentIds } = args.inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = args.attrs as unknown as { numSegments: number };
  return runWithTensors(args.backend, [x, segmentIds], (xt, ids) => unsortedSegmentSumImpl(xt, ids, numSegments));
}
