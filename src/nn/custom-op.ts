/**
 * A typed wrapper around `tf.customGrad`: an op with a hand-written backward pass.
 *
 * `forward(inputs, save)` runs untaped (inside TF.js's own tidy: intermediates are freed, only `value` and the
 * tensors given to `save` survive) and returns the output and a `gradFunc(dy, saved)` that must return one
 * gradient per input, in order. `saved` are the tensors passed to `save` (TF.js clones and keeps them until the
 * backward pass has run; with no gradient tape active nothing is saved).
 */
import * as tf from '@tensorflow/tfjs';

export type CustomGradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];

export type CustomForward<T extends tf.Tensor> = (
  inputs: tf.Tensor[],
  save: tf.GradSaveFunc,
) => { value: T; gradFunc: CustomGradFunc };

/** Build an op `(...inputs) => T` from a forward function that also returns its gradient function. */
export function customOp<T extends tf.Tensor>(forward: CustomForward<T>): (...inputs: tf.Tensor[]) => T {
  const f = (...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    const { value, gradFunc } = forward(inputs, save);
    return { value, gradFunc: (dy: T, saved: tf.Tensor[]) => gradFunc(dy, saved) };
  };
  const op = tf.customGrad<T>(f as unknown as Parameters<typeof tf.customGrad<T>>[0]);
  return (...inputs: tf.Tensor[]) => op(...inputs);
}
