/**
 * What the training loop and the checkpoints need from an optimizer, whatever its kind (SGD, AdamW): a settable
 * `lr`, `step(grads)`, and its state as JSON-serialisable scalars plus named tensors (`exportState` /
 * `importState`). A checkpoint stores the scalars in its JSON (`optimizer: {type, …scalars}`) and the tensors in
 * its `.optim.safetensors` file (src/train/checkpoint-state.ts).
 */
import type * as tf from '@tensorflow/tfjs';

/** Gradients either by parameter name or as returned by `tf.variableGrads` (keyed by `variable.name`). */
export type Gradients = ReadonlyMap<string, tf.Tensor> | tf.NamedTensorMap;

export type OptimizerType = 'SGD' | 'AdamW';
export const OPTIMIZER_TYPES: readonly OptimizerType[] = ['SGD', 'AdamW'];

/** JSON-serialisable optimizer state (hyper-parameters and counters). */
export type OptimizerScalarValue = number | boolean | number[] | Record<string, number>;

export interface OptimizerState {
  type: OptimizerType;
  scalars: Record<string, OptimizerScalarValue>;
  /** Moment tensors by key (owned by whoever holds the state). */
  tensors: Map<string, tf.Tensor>;
}

/** The parameters as a list; a repeated name is an error naming the optimizer and the name. */
export function uniqueParams(owner: string, params: Iterable<readonly [string, tf.Variable]>): Array<readonly [string, tf.Variable]> {
  const list = [...params];
  const names = new Set<string>();
  for (const [name] of list) {
    if (names.has(name)) throw new Error(`${owner}: duplicate parameter name "${name}"`);
    names.add(name);
  }
  return list;
}

/** The gradient of parameter `name` (variable `v`) in `grads` (keyed by parameter name, or by TF.js variable name). */
export function gradientFor(grads: Gradients, name: string, v: tf.Variable): tf.Tensor | undefined {
  if (grads instanceof Map) return grads.get(name);
  const rec = grads as tf.NamedTensorMap;
  return Object.prototype.hasOwnProperty.call(rec, v.name) ? rec[v.name] : undefined;
}
