/**
 * Activation checkpointing — mmdetection's `with_cp` / `torch.utils.checkpoint` for TF.js.
 *
 * Under a gradient tape TF.js keeps every intermediate of the forward pass until the backward pass has run. For a
 * backbone at 800×1333 that is gigabytes, and the wasm heap is capped at 4 GiB (research/engine.md §1.2): training
 * a TiedResNet-50 detector at full resolution stalls there. `checkpoint(run, x, params)` runs `run(x)` as ONE op
 * whose intermediates are freed right away (only x is kept); its backward pass runs `run(x)` again under a tape of
 * its own and takes the gradients of x and of the trainable `params` from it. Peak memory drops to the block
 * outputs plus one block's intermediates; the price is a second forward pass of every checkpointed block.
 *
 * Rules for `run`: a pure function of x and `params` (the variables it reads that should get gradients; frozen ones
 * may be omitted). Side effects must be idempotent or skip themselves while `isRecomputing()` — BatchNorm2d does
 * not update its running statistics a second time. Without a tape, `checkpoint` is just `run(x)`.
 */
import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';

let recomputeDepth = 0;

/** True while a checkpointed block re-runs its forward pass for the backward pass. */
export function isRecomputing(): boolean {
  return recomputeDepth > 0;
}

export function checkpoint<T extends tf.Tensor>(run: (x: T) => T, x: T, params: readonly tf.Variable[]): T {
  const engine = tf.engine();
  if (engine.state.gradientDepth === 0) return run(x);
  const trainable = params.filter((p) => p.trainable);
  const op = customOp<T>((inputs, save) => {
    const input = inputs[0] as T;
    save([input]);
    const value = tf.tidy(() => run(input)); // untaped: only the output survives
    return {
      value,
      gradFunc: (dy, saved) => {
        const xs = [saved[0]!, ...trainable];
        // The outer backward pass is still walking its own tape: engine.gradients would replace it with a fresh
        // one (and set it to null when done), so keep it and put it back.
        const outerTape = engine.state.activeTape;
        recomputeDepth++;
        try {
          const { value: again, grads } = engine.gradients(() => run(saved[0] as T), xs, dy as T, true);
          again.dispose();
          // allowNoGradients: a parameter the block does not use has no gradient (undefined).
          return grads.map((g: tf.Tensor | undefined, i) => g ?? tf.zerosLike(xs[i]!));
        } finally {
          recomputeDepth--;
          engine.state.activeTape = outerTape;
        }
      },
    };
  });
  return op(x, ...trainable);
}

/**
 * `run(x)` as a constant for the gradient tape: untaped (intermediates freed at once), no recompute, and a zero
 * gradient for x. For a frozen prefix of a network whose input needs no gradient (the image through a detector's
 * frozen stem and stages): its backward pass would compute nothing any parameter uses.
 */
export function noGrad<T extends tf.Tensor>(run: (x: T) => T, x: T): T {
  if (tf.engine().state.gradientDepth === 0) return run(x);
  const op = customOp<T>((inputs) => {
    const input = inputs[0] as T;
    const shape = input.shape;
    return { value: tf.tidy(() => run(input)), gradFunc: () => [tf.zeros(shape)] };
  });
  return op(x);
}
