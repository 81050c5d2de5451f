/**
 * Gradient accumulation across k micro-batches, so a small machine reaches the reference batch (mmengine's
 * `OptimWrapper(accumulative_counts=k)`): each micro-batch's gradients are summed, and the update uses their mean
 * Σ gᵢ / k — what back-propagating each micro-batch loss scaled by 1/k (mmengine) computes, up to float rounding.
 * k is the number of micro-batches actually added, so the last, shorter group of an epoch is averaged over its
 * own size (mmengine does the same for the last iterations of training).
 *
 * A parameter without a gradient in some micro-batch (an unused head) contributes zero there; one without a
 * gradient in every micro-batch gets none (the optimizer skips it, as PyTorch skips `p.grad is None`).
 *
 * Ownership: `add` takes over the gradients it is given (disposes them once summed); `mean` hands the result to
 * the caller and resets the accumulator.
 */
import * as tf from '@tensorflow/tfjs';

export class GradAccumulator {
  private readonly sums = new Map<string, tf.Tensor>();
  private added = 0;

  /** Number of micro-batches added since the last `mean()`. */
  get count(): number {
    return this.added;
  }

  /** Add one micro-batch's gradients (by parameter name); takes ownership of the tensors. */
  add(grads: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, g] of grads) {
      const old = this.sums.get(name);
      if (!old) {
        this.sums.set(name, g);
        continue;
      }
      if (!tf.util.arraysEqual(old.shape, g.shape)) {
        throw new Error(`GradAccumulator: gradient "${name}" has shape [${g.shape.join(', ')}], earlier [${old.shape.join(', ')}]`);
      }
      this.sums.set(name, tf.add(old, g));
      old.dispose();
      g.dispose();
    }
    this.added += 1;
  }

  /** The mean gradient over the added micro-batches (the caller owns the tensors); resets the accumulator. */
  mean(): Map<string, tf.Tensor> {
    if (this.added === 0) throw new Error('GradAccumulator.mean: no gradients were added');
    const out = new Map<string, tf.Tensor>();
    for (const [name, s] of this.sums) {
      if (this.added === 1) {
        out.set(name, s);
      } else {
        out.set(name, tf.div(s, this.added));
        s.dispose();
      }
    }
    this.sums.clear();
    this.added = 0;
    return out;
  }

  /** Free whatever was accumulated (after an error or an interrupted group). */
  dispose(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.added = 0;
  }
}
