/**
 * The float32 sigmoid of one logit, as torch computes `sigmoid` on a float32 tensor (to within an ulp): the
 * detectors' post-processing scores (RetinaNet's class scores, the RPN's objectness) on typed arrays.
 */

/** 1 / (1 + e^−x), rounded to float32. Monotone in x, so selecting on logits selects on scores. */
export function sigmoid32(x: number): number {
  return Math.fround(1 / (1 + Math.exp(-x)));
}
