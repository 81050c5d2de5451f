/**
 * Gradients of a loss whose forward pass must read tensors in the middle — a two-stage detector reads the RPN's
 * outputs to build proposals, then samples RoIs and builds targets on the CPU, then runs the RoI head. On webgpu
 * that read has to be asynchronous (`await tensor.data()`), so the forward pass cannot be one synchronous function
 * inside `tf.variableGrads`.
 *
 * `variableGradsAsync(f, vars)` holds one gradient tape across the awaits of an async `f`: `f` runs its
 * synchronous pieces through `tape.run(fn)` (recorded on the tape, each in its own `tf.tidy`; what `fn` returns
 * stays alive until `f` disposes it) and downloads through `tape.read(tensors)` (recording paused while awaiting, so
 * tensor work elsewhere in the process — a prefetching data loader — never lands on this tape). When `f` resolves
 * with the scalar loss, the project's memory-releasing backward pass (./eager-backprop.ts `backward`) walks the
 * tape: the same nodes, the same gradient functions, hence the same numbers as `tf.variableGrads` over the
 * equivalent synchronous function.
 */
import * as tf from '@tensorflow/tfjs';
import { backward, type EngineInternals, type TapeNode } from './eager-backprop.js';
import { readAll } from './async-read.js';

export interface TapePhases {
  /** Run a synchronous piece of the forward pass on the tape; the tensors it returns survive (dispose them). */
  run<T extends tf.TensorContainer>(fn: () => T): T;
  /** Download tensors with the tape paused; afterwards their `dataSync()` is a CPU read. */
  read(tensors: readonly tf.Tensor[]): Promise<tf.TypedArray[]>;
}

/**
 * `tf.variableGrads` for an async loss (see the file comment): the loss value and the gradient of every variable
 * in `varList` (by variable name) that the loss depends on. Not re-entrant: one at a time, not inside another tape.
 */
export async function variableGradsAsync(
  f: (tape: TapePhases) => Promise<tf.Scalar>,
  varList: readonly tf.Variable[],
): Promise<{ value: tf.Scalar; grads: tf.NamedTensorMap }> {
  const engine = tf.engine() as unknown as EngineInternals;
  const state = engine.state;
  if (state.gradientDepth !== 0) throw new Error('variableGradsAsync: cannot run inside another gradient computation');
  const vars = varList.filter((v) => v.trainable);
  if (vars.length === 0) throw new Error('variableGradsAsync: no trainable variables');
  const tape: TapeNode[] = [];
  let busy = false;
  const phases: TapePhases = {
    run<T extends tf.TensorContainer>(fn: () => T): T {
      if (busy) throw new Error('variableGradsAsync: tape.run is not re-entrant');
      if (state.gradientDepth !== 0) throw new Error('variableGradsAsync: another gradient tape is recording');
      busy = true;
      state.activeTape = tape;
      state.gradientDepth = 1;
      try {
        return tf.tidy(fn);
      } finally {
        state.gradientDepth = 0;
        state.activeTape = null;
        busy = false;
      }
    },
    read: (tensors) => readAll(tensors),
  };
  let y: tf.Scalar | undefined;
  try {
    y = await f(phases);
  } catch (e) {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    throw e;
  }
  if (!(y instanceof tf.Tensor) || y.rank !== 0) {
    for (const node of tape) for (const t of node.saved ?? []) t.dispose();
    throw new Error('variableGradsAsync: the loss must be a scalar tensor');
  }
  const { value, grads } = backward(engine, tape, vars, y, undefined, true);
  const named: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    if (grads[i] != null) named[v.name] = grads[i]!;
  });
  if (Object.keys(named).length === 0) {
    tf.dispose(value);
    throw new Error('variableGradsAsync: the loss does not depend on any of the variables');
  }
  return { value: value as tf.Scalar, grads: named };
}
