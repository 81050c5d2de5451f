/**
 * Test-time merging of the cascade stages' outputs, as mmdetection's `CascadeRoIHead`:
 *
 *   class scores  `_refine_roi`: the stages' raw class logits summed in stage order and divided by the number of
 *                 stages (`sum(ms_scores) / float(len(ms_scores))`); the softmax is applied afterwards to the mean
 *                 (by the last box head's `predict_by_feat`)
 *   masks         `predict_mask`: each stage's mask logits through a sigmoid, then the mean over the stages
 *                 (`merge_aug_masks` = `torch.stack(masks).mean(0)`), pasted with `activate_map=True` (no second
 *                 sigmoid)
 *
 * float32 throughout (each sum and the division rounded to float32, as torch on float tensors).
 */

function checkSameLengths(parts: readonly Float32Array[], what: string): number {
  if (parts.length === 0) throw new Error(`${what}: no stages`);
  const n = parts[0]!.length;
  parts.forEach((p, i) => {
    if (p.length !== n) throw new Error(`${what}: stage ${i} has ${p.length} values, stage 0 ${n}`);
  });
  return n;
}

/** Mean of the stages' logits (sum in stage order, then ÷ stages). */
export function averageStageScores(logits: readonly Float32Array[]): Float32Array {
  const n = checkSameLengths(logits, 'averageStageScores');
  const out = new Float32Array(n);
  const S = Math.fround(logits.length);
  for (let j = 0; j < n; j++) {
    let s = logits[0]![j]!;
    for (let k = 1; k < logits.length; k++) s = Math.fround(s + logits[k]![j]!);
    out[j] = s / S;
  }
  return out;
}

/** Mean of the stages' mask probabilities (already sigmoids). */
export function averageStageMasks(probs: readonly Float32Array[]): Float32Array {
  checkSameLengths(probs, 'averageStageMasks');
  return averageStageScores(probs);
}
