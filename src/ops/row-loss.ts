/**
 * A loss on selected rows of a prediction matrix — the pattern every detection loss on positives / sampled anchors
 * shares: gather the rows `rows` of `pred` [N, W], compare them with `targets` ([rows.length × W] row-major) through
 * `loss`, and when there are no rows return 0 that is still connected to `pred` (`Σ pred · 0`: the head gets a zero
 * gradient instead of none, as mmdetection's `pred.sum() * 0`).
 */
import * as tf from '@tensorflow/tfjs';

export function rowLoss(
  pred: tf.Tensor2D,
  rows: ArrayLike<number>,
  targets: Float32Array,
  loss: (rowsPred: tf.Tensor2D, rowsTarget: tf.Tensor2D) => tf.Tensor,
): tf.Tensor {
  if (rows.length === 0) return tf.mul(tf.sum(pred), 0);
  const W = pred.shape[1];
  const picked = tf.gather(pred, tf.tensor1d(Int32Array.from(rows), 'int32')) as tf.Tensor2D;
  return loss(picked, tf.tensor2d(targets, [rows.length, W]));
}
