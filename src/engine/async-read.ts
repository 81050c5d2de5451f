/**
 * Reading tensors without a synchronous GPU read. On webgpu in Node `dataSync()` of a tensor that lives on the GPU
 * fails (no OffscreenCanvas); `await tensor.data()` works, and the backend keeps the values it downloaded on the CPU
 * for as long as the tensor lives, so a later `dataSync()` of the same tensor returns them without touching the GPU.
 * `readAll` downloads a set of tensors at once (one wait for all of them — the one read per batch / per step), after
 * which typed-array code that calls `dataSync()` runs unchanged on every backend. On wasm/cpu it costs nothing.
 */
import type * as tf from '@tensorflow/tfjs';

/** Download every tensor (in parallel); afterwards their `dataSync()` is a CPU read. Returns the values. */
export async function readAll(tensors: readonly tf.Tensor[]): Promise<tf.TypedArray[]> {
  return Promise.all(tensors.map((t) => t.data())) as Promise<tf.TypedArray[]>;
}

/** The values of scalar tensors, read together. */
export async function readScalars(tensors: readonly tf.Tensor[]): Promise<number[]> {
  return (await readAll(tensors)).map((v) => v[0]!);
}
