/**
 * `Identity` for the wasm backend without a copy: the output shares the input's heap buffer (one more reference,
 * as the stock wasm `Reshape` already does), where the stock kernel allocates and copies the whole tensor.
 *
 * TF.js runs Identity for every `tf.clone`, and `tf.customGrad` clones each tensor a custom op saves for its
 * backward pass — the input activation of nearly every conv and BatchNorm of a training step. Sharing is safe
 * because no kernel writes into an existing buffer: every kernel, stock or tiedet's, writes a fresh output, and
 * `Variable.assign` swaps in a new buffer rather than overwriting the old one. String tensors (no heap buffer)
 * keep the stock kernel.
 */
import type * as tf from '@tensorflow/tfjs';
import type { WasmBackendLike } from './tensor-plumbing.js';

export const KERNEL = 'Identity';

let sharing = true;

/** Copy again like the stock kernel (false) or share (true, the default): for A/B benchmarks. */
export function setIdentitySharing(on: boolean): void {
  sharing = on;
}

export function makeIdentityKernel(stock: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (!sharing || x.dtype === 'string') return stock(args);
    (args.backend as unknown as WasmBackendLike).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}
