/**
 * RoIAlign from a plan (./roi-align.ts `planRoiAlign`: the same float32 sample positions and weights) computed with
 * generic TF.js ops, so the features never leave the device — the path of backends that cannot run the
 * accumulation loops on their memory (webgpu: the loops would need a synchronous GPU read of every level).
 *
 * Per RoI k the plan's separable weights become two small dense matrices over the RoI's window of the map: Ay
 * [outH, Sy] (rows i0y … i0y + Sy − 1) and Ax [outW, Sx]; the window [Sy, Sx, C] is gathered from the flattened
 * map, and out_k = Ay · window · Axᵀ as two batched matMuls (rows, then columns, as the accumulation loops do).
 * Sy, Sx are the largest spans among the RoIs; a RoI with a smaller span has zero weights over the rest (its
 * window indices are clamped inside the map). Differentiable with respect to the features through `tf.gather`
 * (its gradient is UnsortedSegmentSum, the scatter-add torchvision's backward does) and the matMuls. RoIs are
 * processed in chunks so one gathered window block stays under `WINDOW_BUDGET` floats.
 */
import * as tf from '@tensorflow/tfjs';
import type { AxisTable, RoiAlignPlan } from './roi-align.js';

/** Floats of one gathered window block [k, Sy, Sx, C]. */
export const WINDOW_BUDGET = 1 << 24;

/** Dense per-RoI weights [K, out, S] of one axis (S = the largest span), from the plan's bin-major segments. */
function denseAxis(t: AxisTable, weights: Float32Array, K: number, out: number): { w: Float32Array; S: number } {
  let S = 0;
  for (let k = 0; k < K; k++) S = Math.max(S, t.span[k]!);
  const w = new Float32Array(K * out * Math.max(S, 1));
  for (let k = 0; k < K; k++) {
    for (let p = 0; p < out; p++) {
      const b = k * out + p;
      const row = (k * out + p) * S;
      const s1 = t.segFirst[b]! + t.segCount[b]!;
      for (let s = t.segFirst[b]!; s < s1; s++) {
        const lo = t.segLo[s]! - t.i0[k]!;
        for (let j = 0; j < t.segLen[s]!; j++) w[row + lo + j] += weights[t.segOff[s]! + j]!;
      }
    }
  }
  return { w, S };
}

/** RoIAlign of the plan's RoIs on `feat` [N, H, W, C] → [K, outH, outW, C] (see the file comment). */
export function roiAlignTensor(feat: tf.Tensor4D, plan: RoiAlignPlan): tf.Tensor4D {
  const [N, H, W, C] = feat.shape;
  const { count: K, outH, outW } = plan;
  if (H !== plan.height || W !== plan.width) {
    throw new Error(`roiAlignTensor: the plan is for a ${plan.height}×${plan.width} map, the features are ${H}×${W}`);
  }
  if (K === 0) return tf.zeros([0, outH, outW, C]);
  const ay = denseAxis(plan.y, plan.weights, K, outH);
  const ax = denseAxis(plan.x, plan.weights, K, outW);
  const Sy = ay.S;
  const Sx = ax.S;
  if (Sy === 0 || Sx === 0) return tf.zeros([K, outH, outW, C]);
  const per = Math.max(1, Math.floor(WINDOW_BUDGET / (Sy * Sx * C)));
  return tf.tidy(() => {
    const flat = tf.reshape(feat, [N * H * W, C]);
    const parts: tf.Tensor4D[] = [];
    for (let k0 = 0; k0 < K; k0 += per) {
      const k1 = Math.min(K, k0 + per);
      const n = k1 - k0;
      const idx = new Int32Array(n * Sy * Sx);
      for (let k = k0; k < k1; k++) {
        const base = plan.batch[k]! * H;
        for (let r = 0; r < Sy; r++) {
          const row = (base + Math.min(plan.y.i0[k]! + r, H - 1)) * W;
          const at = ((k - k0) * Sy + r) * Sx;
          for (let c = 0; c < Sx; c++) idx[at + c] = row + Math.min(plan.x.i0[k]! + c, W - 1);
        }
      }
      const win = tf.reshape(tf.gather(flat, tf.tensor1d(idx, 'int32')), [n, Sy, Sx * C]);
      const wy = tf.tensor3d(ay.w.subarray(k0 * outH * Sy, k1 * outH * Sy), [n, outH, Sy]);
      const wx = tf.tensor3d(ax.w.subarray(k0 * outW * Sx, k1 * outW * Sx), [n, outW, Sx]);
      const rows = tf.reshape(tf.matMul(wy, win), [n, outH, Sx, C]); // Σ_r Ay[p, r] · window[r, x, :]
      const cols = tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [n, Sx, outH * C]);
      const out = tf.reshape(tf.matMul(wx, cols), [n, outW, outH, C]); // Σ_x Ax[q, x] · rows[p, x, :]
      parts.push(tf.transpose(out, [0, 2, 1, 3]) as tf.Tensor4D);
    }
    return parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D);
  });
}

/** Whether RoIAlign should use this tensor path on the current backend (webgpu; the others run the loops). */
export function roiAlignOnDevice(): boolean {
  return tf.getBackend() === 'webgpu';
}
